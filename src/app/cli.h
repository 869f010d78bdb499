// cli.h: the subcommands of `build/fam`. Each lives in its own cli_*.cpp file,
// takes the arguments after its name and returns the process exit code.
// Library errors arrive as exceptions; main() turns them into one line on
// stderr (exit 1), usage errors into one line (exit 2).
#pragma once

#include <string>
#include <vector>

#include "config.h"
#include "app/args.h"

// The model-shape flags shared by `fam init` and `fam train` (cli_model.cpp):
// --d-model --heads --layers --d-ff --attention --block --mem --fam --rope-base.
// Without defaults the four sizes are required.
void add_model_options(ArgParser& a, bool sizes_have_defaults);
// The validated config those flags describe, for a vocabulary of V tokens.
FamConfig model_config_from_args(const ArgParser& a, int V);
// The comma-separated token ids of --flag, e.g. "3,1,4", each checked against the
// vocabulary [0, V) (allow_ignore: -1 = "no target" is allowed too); UsageError otherwise.
std::vector<int> parse_ids(const ArgParser& a, const std::string& flag, int V, bool allow_ignore);

int cmd_demo(int argc, char** argv);  // cli_demo.cpp: the quick-start demo
int cmd_mask(int argc, char** argv);  // cli_mask.cpp: draw an attention mask (paper Fig. 1, 2)
int cmd_receptive_field(int argc, char** argv);  // cli_mask.cpp: receptive field (paper Fig. 1d)
int cmd_init(int argc, char** argv);     // cli_model.cpp: random model -> safetensors
int cmd_forward(int argc, char** argv);  // cli_model.cpp: logits.npy, fam_final.npy
int cmd_grad(int argc, char** argv);     // cli_model.cpp: gradients -> safetensors
int cmd_generate(int argc, char** argv); // cli_stream.cpp: generate after a prompt (FamState)
int cmd_stream(int argc, char** argv);   // cli_stream.cpp: stream a token file, constant memory
int cmd_train(int argc, char** argv);    // cli_train.cpp: train on PassKey or on text
int cmd_eval(int argc, char** argv);     // cli_train.cpp: PassKey accuracy per filler length; text loss by position
int cmd_convert(int argc, char** argv);  // cli_convert.cpp: a BSWA model -> a FAM model (+ fam_prompt only)
int cmd_export(int argc, char** argv);   // cli_train.cpp: a trained model without optimizer state
int cmd_viz(int argc, char** argv);      // cli_viz.cpp: attention and memory over time (paper Fig. 4, 11)
int cmd_slides(int argc, char** argv);   // cli_slides.cpp: 16:9 slide figures (SVG + PNG) with an index page
