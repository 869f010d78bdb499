// fuzz_state.cpp: libFuzzer harness for the stream-state reader
// (fam_state_load, src/app/state_file.cpp), as `fam stream --state-in` uses it.
//
// Two passes per input:
//  1. the bytes as they are, against a fixed model (the one the seeds were
//     made with): the container, the format key, the config and checksum checks;
//  2. the bytes with state.model_checksum set to the checksum of a model of the
//     config the file names, so the fuzzer gets past the checksum (which it
//     could never guess) to the ring fields, fresh flags and tensor shapes. A
//     state the loader accepts must then stream a token without a sanitizer report.
// Seeds: tests/fuzz/corpus/state/ (made with `fam init --vocab 5 --d-model 4
// --heads 2 --layers 2 --d-ff 4 --block 2 --mem 1 --fam 2 --seed 1` and
// `fam stream --state-out`; see tests/fuzz/README.md).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "fam_state.h"
#include "app/checkpoint.h"
#include "app/safetensors.h"
#include "app/state_file.h"
#include "fuzz_util.h"
#include "../model_util.h"  // make_cfg

static const ModelWeights& seed_model() {
    static ModelWeights w = [] {
        ModelWeights m(make_cfg(AttentionKind::Fam, /*B=*/2, /*M=*/1, /*F=*/2, /*V=*/5, /*D=*/4, /*H=*/2, /*N=*/2,
                                /*Dff=*/4));
        init_weights(m, 1);  // as `fam init --seed 1`
        return m;
    }();
    return w;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    fuzz::set_small_memory_limit();
    seed_model();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    const std::string& path = fuzz::temp_path(".safetensors");
    fuzz::write_temp(path, bytes);
    try {  // 1. as is
        FamState st;
        fam_state_load(path, st, seed_model());
    } catch (const std::exception&) {
    }
    try {  // 2. with the right checksum for the config it names
        SafeTensors f = safetensors_parse(bytes, path);
        const FamConfig c = config_from_metadata(f);
        ModelWeights w(c);  // refused above the memory limit
        init_weights(w, 1);
        char sum[32];
        std::snprintf(sum, sizeof sum, "%016llx", (unsigned long long)weights_checksum(w));
        f.metadata["state.model_checksum"] = sum;
        fuzz::write_temp(path, safetensors_serialize(f));
        FamState st;
        fam_state_load(path, st, w);
        std::vector<float> logits((size_t)c.V);
        stream_step(st, w, 0, logits.data());  // an accepted state must be usable
    } catch (const std::exception&) {
    }
    return 0;
}
