#!/usr/bin/env bash
# scripts/reference/ggml_quantize.sh — writes a GGUF model quantized by llama.cpp's own quantizer (ggml, from the
# prebuilt libraries of node-llama-cpp in scripts/reference/node_modules) to a type `tinyllm synth` cannot write:
# test and benchmark files for the i-quant and ternary types.
#
#   scripts/reference/ggml_quantize.sh --type TYPE [--threads N] [--imatrix-text FILE] [--no-imatrix] [-v] IN OUT
#   scripts/reference/ggml_quantize.sh --model PRESET TYPE DIR [TINYLLM]
#   TYPE: iq4_nl iq4_xs iq3_xxs iq3_s iq2_xxs iq2_xs iq2_s iq1_s iq1_m tq1_0 tq2_0
#
# The second form prints the path of DIR/PRESET-TYPE.gguf, a random-weight model of a `tinyllm synth` preset, after
# writing it if it is not there yet: `tinyllm synth --type TYPE` (seed 42) for a type synth writes (iq4_nl and iq4_xs
# among the i-quants), otherwise DIR/PRESET-f32.gguf (kept for the next type) quantized by this quantizer. TINYLLM is
# the tinyllm binary (default build/tinyllm). bench/compare and check_quantized.sh get their files this way.
#
# IN is a float model (f32, f16 or bf16 weights), e.g. `tinyllm synth --preset smollm2-135m --type f32 -o IN`; OUT is
# the same model (all metadata, general.file_type set to llama.cpp's file type of TYPE) with its weight matrices
# quantized by ggml_quantize_chunk. Builds build/ggml_quantize from ggml_quantize.c (build_llama_tool.sh) when it is
# missing or older than its source. OUT is written under a temporary name and renamed; errors are one line on stderr
# and exit status 1.
#
# Which tensor gets which type (llama.cpp v0.5.0's src/llama-quant.cpp, as in llama-quantize):
#   - Kept as they are: 1-D tensors (norms, biases), names not ending in "weight", "*_norm.weight", position and
#     token-type embeddings and the other small tensors llama.cpp never quantizes (tensor_allows_quantization).
#   - output.weight, and token_embd.weight when the model has no output.weight (tied embeddings): Q5_K for iq3_xxs,
#     iq2_xxs, iq2_xs, iq2_s, iq1_s and iq1_m, Q6_K for the others; Q8_0 when TYPE's block does not divide the row.
#   - token_embd.weight of an untied model: Q2_K for iq2_xxs, iq2_xs, iq1_s, iq1_m; IQ3_S for iq2_s and iq3_xxs; Q4_K
#     for tq1_0 and tq2_0; TYPE itself for iq4_nl, iq4_xs and iq3_s.
#   - Every other weight matrix: TYPE. This is llama-quantize's --pure for the layers: llama.cpp's mixtures would move
#     some attn_v / ffn_down / attn_output / attn_q / attn_k matrices to other types (Q2_K, Q4_K, IQ3_S, IQ2_S, ...),
#     and its IQ2_S mixture is mostly IQ2_XS; here every layer matrix is TYPE, so a file tests and measures TYPE's
#     kernels. For iq2_s, general.file_type says IQ2_M, the llama.cpp mixture whose main type is IQ2_S.
#   - Then llama.cpp's shape fallback (tensor_type_fallback): a row length the block size (256 for all but iq4_nl,
#     32) does not divide gives IQ4_NL for the IQ types, Q4_0 for Q2_K/TQ1_0/TQ2_0, Q5_0 for Q4_K, Q5_1 for Q5_K,
#     Q8_0 for Q6_K, and F16 if even that block does not divide it. Note: models whose width is not a multiple of 256
#     (smollm2-135m: 576, qwen2.5-0.5b: 896) keep only the matrices whose rows are the FFN width (ffn_down) in TYPE;
#     the rest falls back to IQ4_NL / Q4_0, exactly as llama-quantize does. tinyllama-1.1b (2048 / 5632) has every
#     layer matrix in TYPE.
#
# Importance matrix (on by default; iq2_xxs, iq2_xs and iq1_s cannot be made without one, and the other i-quants use
# it when given, as llama-quantize does): for every weight matrix, the mean over tokens of the square of each input
# column — what llama.cpp's imatrix tool computes — measured by running IN through llama.cpp (CPU, one batch) on up
# to 512 tokens of a short built-in English text with a little code (or --imatrix-text FILE), every position an
# output so the last layer sees every token. ggml_quantize.c's eval callback reads the input of each MUL_MAT whose
# first operand is a tensor of IN. The token embedding is looked up, not multiplied, so it has no importance matrix
# unless it is the tied output matrix. With random-weight models the values mostly reflect the weights' scale, but
# they are honest activations, not a made-up flat matrix. --no-imatrix quantizes without one (not for the three
# types that need it).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
GGML_ONLY=" iq3_xxs iq3_s iq2_xxs iq2_xs iq2_s iq1_s iq1_m tq1_0 tq2_0 "

# synth PRESET TYPE FILE: writes FILE with tinyllm synth under a temporary name.
synth() {
  "$TINYLLM" synth --preset "$1" --type "$2" -o "$3.tmp.$$" >/dev/null 2>"$3.err.$$" ||
    { echo "ggml_quantize.sh: $1 $2: $(head -1 "$3.err.$$")" >&2; rm -f "$3.tmp.$$" "$3.err.$$"; exit 1; }
  rm -f "$3.err.$$"
  mv "$3.tmp.$$" "$3"
}

if [ "${1:-}" = --model ]; then
  [ $# -ge 4 ] && [ $# -le 5 ] || { echo "usage: ggml_quantize.sh --model PRESET TYPE DIR [TINYLLM]" >&2; exit 1; }
  PRESET=$2 TYPE=$3 DIR=$4 TINYLLM=${5:-$ROOT/build/tinyllm}
  [ -x "$TINYLLM" ] || { echo "ggml_quantize.sh: no tinyllm binary at $TINYLLM" >&2; exit 1; }
  mkdir -p "$DIR"
  FILE=$DIR/$PRESET-$TYPE.gguf
  if [ ! -s "$FILE" ]; then
    if [[ $GGML_ONLY == *" $TYPE "* ]]; then
      F32=$DIR/$PRESET-f32.gguf
      [ -s "$F32" ] || synth "$PRESET" f32 "$F32"
      "$0" --type "$TYPE" "$F32" "$FILE" 2>"$FILE.log.$$" ||
        { cat "$FILE.log.$$" >&2; rm -f "$FILE.log.$$"; exit 1; }
      tail -1 "$FILE.log.$$" >&2
      rm -f "$FILE.log.$$"
    else
      synth "$PRESET" "$TYPE" "$FILE"
    fi
  fi
  echo "$FILE"
  exit 0
fi

BIN=${GGML_QUANTIZE_BIN:-$ROOT/build/ggml_quantize}
SRC=$ROOT/scripts/reference/ggml_quantize.c
if [ ! -x "$BIN" ] || [ "$SRC" -nt "$BIN" ] || [ "$ROOT/scripts/reference/build_llama_tool.sh" -nt "$BIN" ]; then
  "$ROOT/scripts/reference/build_llama_tool.sh" "$SRC" "$BIN" -lpthread >/dev/null ||
    { echo "ggml_quantize.sh: could not build $BIN" >&2; exit 1; }
fi
exec "$BIN" "$@"
