// Package winetest runs Windows test binaries under Wine inside network namespaces, for Linux tests.
package winetest
