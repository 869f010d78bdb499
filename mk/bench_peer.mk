# bench_peer.mk: `make bench-peer`, bench/train_bench next to its PyTorch peer
# (bench/peer/train_peer.py), one table with the ratios and the goals of issue 12
# (docs/performance.md). Installs Debian's python3-torch (tools/install-deps.sh) when
# missing; nothing else in the build or the tests needs torch. QUICK=1: half a second
# per measurement (a minute or two instead of about five).
PEER_PYTHON ?= /usr/bin/python3

.PHONY: bench-peer
bench-peer: $(BUILD)/bench/train_bench ## train_bench and its PyTorch peer side by side, with ratios (installs python3-torch; QUICK=1 rough)
	@bash tools/install-deps.sh python3-torch
	@echo "bench-peer: $(BUILD)/bench/train_bench --json $(if $(QUICK),--quick) (C++), then bench/peer/train_peer.py (PyTorch), 2 threads each"
	@$(BUILD)/bench/train_bench --json $(if $(QUICK),--quick) > $(BUILD)/bench/train_bench.jsonl
	@$(PEER_PYTHON) bench/peer/train_peer.py --json $(if $(QUICK),--quick) > $(BUILD)/bench/train_peer.jsonl
	@$(PEER_PYTHON) bench/peer/side_by_side.py $(BUILD)/bench/train_bench.jsonl $(BUILD)/bench/train_peer.jsonl
