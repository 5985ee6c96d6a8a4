// Package upload ships published incident bundles to S3-compatible object storage.
//
// After a bundle is published its zip and its manifest (a separate small
// object, for listing) are stored as <prefix>/<host>/<incident-id>.zip and
// <prefix>/<host>/<incident-id>.manifest.json, each in one PUT whose
// SHA-256 the server checks, with metadata naming host, incident, trigger
// and window. Uploads go through an on-disk queue (see queue.go): they
// resume after a restart or an outage, with backoff, and the snapshotter's
// retention keeps a bundle until it is uploaded (Uploader.Pending).
package upload
