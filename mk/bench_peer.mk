# bench_peer.mk: `make bench-peer`, bench/train_bench next to its PyTorch peer
# (bench/peer/train_peer.py), one table with the ratios and the goals of issue 12
# (docs/performance.md). Installs Debian's python3-torch (tools/install-deps.sh) when
# missing; nothing else in the build or the tests needs torch.
# ROUNDS (default 3): the two programs run one after the other, ROUNDS times, and the
# table shows medians with their range (about 2 minutes a round on 2 idle cores).
# QUICK=1: half a second per measurement, one round (rough; under a minute).
PEER_PYTHON ?= /usr/bin/python3
ROUNDS ?= $(if $(QUICK),1,3)

.PHONY: bench-peer
bench-peer: $(BUILD)/bench/train_bench ## train_bench and its PyTorch peer side by side, ROUNDS=3 rounds, medians and ratios (installs python3-torch; QUICK=1 rough)
	@bash tools/install-deps.sh python3-torch
	@case "$(ROUNDS)" in ''|*[!0-9]*|0) echo "bench-peer: ROUNDS must be a positive integer, got '$(ROUNDS)'" >&2; exit 2;; esac
	@echo "bench-peer: $(ROUNDS) round(s) of $(BUILD)/bench/train_bench --json $(if $(QUICK),--quick) (C++), then bench/peer/train_peer.py (PyTorch), 2 threads each"
	@rm -f $(BUILD)/bench/train_bench.*.jsonl $(BUILD)/bench/train_peer.*.jsonl
	@for r in $$(seq 1 $(ROUNDS)); do \
	    echo "bench-peer: round $$r of $(ROUNDS)"; \
	    $(BUILD)/bench/train_bench --json $(if $(QUICK),--quick) > $(BUILD)/bench/train_bench.$$r.jsonl || exit 1; \
	    $(PEER_PYTHON) bench/peer/train_peer.py --json $(if $(QUICK),--quick) > $(BUILD)/bench/train_peer.$$r.jsonl || exit 1; \
	done
	@$(PEER_PYTHON) bench/peer/side_by_side.py $$(for r in $$(seq 1 $(ROUNDS)); do \
	    echo $(BUILD)/bench/train_bench.$$r.jsonl $(BUILD)/bench/train_peer.$$r.jsonl; done)
