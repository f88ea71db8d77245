"""The verifiable log (issue 16): RFC 9162 Merkle trees in the C2SP transparency-log formats.

Pure code, no database: :mod:`backend.tlog.tlog` (hashes, stored hashes, proofs, tile
coordinates; a port of Go's ``sumdb/tlog``), :mod:`backend.tlog.tiles` (entry bundles, hash
readers over tiles), and the text formats in their own modules.
"""
