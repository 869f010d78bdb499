// fuzz_checkpoint.cpp: libFuzzer harness for the checkpoint readers:
// safetensors_parse (the container, src/app/safetensors.cpp),
// model_from_safetensors (config metadata, parameter names and shapes,
// src/app/checkpoint.cpp) and load_train_checkpoint (optimizer state and
// training metadata, src/app/train.cpp), the last through a file as `fam eval`
// and `fam train --resume` read it. Seeds: tests/fuzz/corpus/checkpoint/.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <string>

#include "app/checkpoint.h"
#include "app/safetensors.h"
#include "app/tasks.h"
#include "app/train.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    fuzz::set_small_memory_limit();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    try {  // from memory: the container, then the model in it
        SafeTensors st = safetensors_parse(bytes, "fuzz.safetensors");
        ModelWeights w = model_from_safetensors(st);
    } catch (const std::exception&) {
        // refused with a message: the only acceptable failure
    }
    const std::string& path = fuzz::temp_path(".safetensors");
    fuzz::write_temp(path, bytes);
    try {  // from a file: a training checkpoint with its vocabulary and optimizer state
        ModelWeights w;
        TrainState s;
        Vocab vocab;
        std::map<std::string, std::string> meta;
        load_train_checkpoint(path, w, s, &vocab, &meta);
    } catch (const std::exception&) {
    }
    return 0;
}
