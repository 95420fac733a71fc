/*
 * catalogue.c — the built-in catalogue: short names ("qwen2.5:0.5b") for
 * public GGUF repositories on the Hugging Face Hub and the quantization each
 * pulls by default (Q4_K_M where the repository has it). Every repository
 * here was checked to exist with a file of that tag; add a row to add a model.
 */
#include "hub.h"

static const tl_hub_catalogue_entry catalogue[] = {
    {"qwen2.5:0.5b", "bartowski/Qwen2.5-0.5B-Instruct-GGUF", "Q4_K_M", "Qwen2.5 0.5B Instruct, chat (398 MB)"},
    {"qwen2.5:1.5b", "bartowski/Qwen2.5-1.5B-Instruct-GGUF", "Q4_K_M", "Qwen2.5 1.5B Instruct, chat (986 MB)"},
    {"qwen3:0.6b", "bartowski/Qwen_Qwen3-0.6B-GGUF", "Q4_K_M", "Qwen3 0.6B, chat with thinking"},
    {"qwen3:1.7b", "bartowski/Qwen_Qwen3-1.7B-GGUF", "Q4_K_M", "Qwen3 1.7B, chat with thinking"},
    {"smollm2:135m", "mradermacher/SmolLM2-135M-Instruct-GGUF", "Q4_K_M", "SmolLM2 135M Instruct, chat (105 MB)"},
    {"smollm2:360m", "bartowski/SmolLM2-360M-Instruct-GGUF", "Q4_K_M", "SmolLM2 360M Instruct, chat (271 MB)"},
    {"smollm2:1.7b", "HuggingFaceTB/SmolLM2-1.7B-Instruct-GGUF", "Q4_K_M", "SmolLM2 1.7B Instruct, chat (1.06 GB)"},
    {"llama3.2:1b", "bartowski/Llama-3.2-1B-Instruct-GGUF", "Q4_K_M", "Llama 3.2 1B Instruct, chat (0.81 GB)"},
    {"tinyllama:1.1b", "TheBloke/TinyLlama-1.1B-Chat-v1.0-GGUF", "Q4_K_M", "TinyLlama 1.1B Chat v1.0 (0.67 GB)"},
    {"gemma3:270m", "unsloth/gemma-3-270m-it-GGUF", "Q4_K_M", "Gemma 3 270M instruction-tuned, chat"},
    {"gemma3:1b", "tensorblock/gemma-3-1b-it-GGUF", "Q4_K_M", "Gemma 3 1B instruction-tuned, chat"},
    /* Microsoft's own repository names its files -q4 and -fp16: the tag is "Q4". */
    {"phi3:mini", "microsoft/Phi-3-mini-4k-instruct-gguf", "Q4", "Phi-3 mini 4k instruct, chat (2.39 GB)"},
    {"all-minilm", "second-state/All-MiniLM-L6-v2-Embedding-GGUF", "Q4_K_M", "all-MiniLM-L6-v2, sentence embeddings"},
    {"nomic-embed-text", "nomic-ai/nomic-embed-text-v1-GGUF", "F16", "nomic-embed-text v1, text embeddings"},
    {"flan-t5-small", "Felladrin/gguf-flan-t5-small", "Q4_K_M",
     "FLAN-T5 small, encoder-decoder text-to-text (94.5 MB)"},
};

bool tl_hub_catalogue(int i, tl_hub_catalogue_entry *entry) {
    if (i < 0 || i >= (int)(sizeof catalogue / sizeof catalogue[0])) return false;
    *entry = catalogue[i];
    return true;
}
