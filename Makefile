# Shortcuts for the commands README.md gives.

.PHONY: demo test diagram

# The whole workflow on this machine, checked: N=100000 by default.
N ?= 100000
demo:
	go run ./cmd/demo -n $(N)

test:
	go test -race -count=1 -p 1 ./...

# diagram.png from its source, diagram.dot (needs Graphviz: apt-get install graphviz).
diagram: diagram.png

diagram.png: diagram.dot
	dot -Tpng -Gdpi=150 diagram.dot -o diagram.png
