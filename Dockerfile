# goquiz's three programs in one small image: parser, integrator, httpapi.
# docker-compose.yml runs them; by hand:
#   docker build -t goquiz .
#   docker run --rm goquiz parser -h

# Build stage: static binaries, no C toolchain needed at run time.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
ENV CGO_ENABLED=0
# The packages goquiz imports from its dependencies, compiled (with the
# standard library packages they need) in a layer of their own that is kept
# while go.mod and go.sum do not change: a change to goquiz's code then
# rebuilds in seconds instead of a minute or two. cmd/demo's tests check
# that this is the list goquiz imports.
RUN go build -trimpath \
    github.com/dunglas/httpsfv \
    github.com/kelseyhightower/envconfig \
    github.com/lib/pq \
    github.com/prometheus/client_golang/prometheus \
    github.com/prometheus/client_golang/prometheus/collectors \
    github.com/prometheus/client_golang/prometheus/promhttp \
    golang.org/x/net/http/httpguts \
    golang.org/x/net/http/httpproxy \
    golang.org/x/text/encoding \
    golang.org/x/text/encoding/htmlindex \
    golang.org/x/text/transform \
    golang.org/x/time/rate
COPY . .
RUN go build -trimpath -ldflags='-s -w' -o /out/ ./cmd/parser ./cmd/integrator ./cmd/httpapi

# Runtime stage: Alpine for its shell and wget, which the compose health
# checks use; the programs run as an unprivileged user.
FROM alpine:3.22
RUN adduser -D -H -u 10001 goquiz
COPY --from=build /out/ /usr/local/bin/
USER 10001:10001
CMD ["integrator"]
