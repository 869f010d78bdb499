# mk/text.mk: the real-text experiment (issue 15): `make reproduce-text`.
# The corpus comes from Debian packages installed here, never from the network at
# run time: bible-kjv-text (the King James Bible, public domain) and bible-kjv (its
# `bible` program, which prints the text).

.PHONY: reproduce-text text-corpus

text-corpus: ## install the text corpus packages (bible-kjv-text, bible-kjv)
	@bash tools/install-deps.sh bible-kjv-text bible-kjv

reproduce-text: text-corpus $(BUILD)/fam $(BUILD)/tools/text_report ## train BSWA and FAM on the King James Bible, retrofit FAM onto BSWA, write docs/results/text.* (7 min from a fresh clone on 2 idle cores, build included)
	@FAM=$(BUILD)/fam REPORT=$(BUILD)/tools/text_report OUT=$(BUILD)/text bash tools/reproduce_text.sh
