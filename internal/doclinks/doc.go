// Package doclinks holds the test that the repository's Markdown pages
// (README.md, CHANGELOG.md, docs/) link only to files and headings that
// exist. It has no code of its own.
package doclinks
