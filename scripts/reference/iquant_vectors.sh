#!/usr/bin/env bash
# Produces tests/reference/iquants.json: ggml's i-quant and ternary bytes,
# dequantization hashes and dot products for a fixed input (see
# iquant_vectors.c), built and run as kquant_vectors.sh does.
#   scripts/reference/iquant_vectors.sh
exec "$(dirname "$0")/kquant_vectors.sh" iquant
