# vigil — the two commands: `make run` and `make test`.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build run test bench fairness fuzz format clean install

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/build.ninja: CMakeLists.txt | deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null

build: deps $(BUILD)/build.ninja
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	@mkdir -p $(BUILD)/run
	$(BUILD)/src/cli/vigil -r tests/sample/sample.pcap -R tests/sample/sample.rules -l $(BUILD)/run
	@echo "--- $(BUILD)/run/alert_fast.txt"
	@cat $(BUILD)/run/alert_fast.txt

# Tests that run the vigil command share one database cache in the build tree, not the user's.
test: build
	@XDG_CACHE_HOME=$(abspath $(BUILD))/test-cache ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

bench: deps
	@cmake -S . -B $(BUILD)-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DVIGIL_BENCH=ON -DVIGIL_TESTS=OFF >/dev/null
	@cmake --build $(BUILD)-bench -j $(JOBS)
	@bash bench/run.sh $(BUILD)-bench

# The multi-tenant fairness experiment of issue 20 (tools/fairness/main.cc): three tenants on one
# worker under no fairness, vigil's tokens and Linux's scheduler; a few minutes. Writes a CSV, a
# table and PNG plots to $(BUILD)-bench/fairness; its last line is the summary. The victims'
# traffic is also inspected against FAIRNESS_RULES (Snort 3 community rules, when present).
FAIRNESS_RULES ?= $(wildcard ../shared/rules/snort3-community)
fairness: deps
	@cmake -S . -B $(BUILD)-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DVIGIL_BENCH=ON -DVIGIL_TESTS=OFF >/dev/null
	@cmake --build $(BUILD)-bench -j $(JOBS) --target fairness
	@$(BUILD)-bench/tools/fairness/fairness --out $(BUILD)-bench/fairness \
	  $(if $(FAIRNESS_RULES),--rules $(FAIRNESS_RULES)) $(FAIRNESS_FLAGS)

# The verifier's soundness check at volume (fuzz/verifier_soak.cc): SOAK_PROGRAMS random and
# mutated programs, each one the verifier accepts run in the checked interpreter under ASan and
# UBSan; prints the counts and the rate. One core: run more with other SOAK_SEEDs side by side.
SOAK_PROGRAMS ?= 10000000
SOAK_SEED ?= 1
verifier-soak: deps
	@CC=clang CXX=clang++ cmake -S . -B $(BUILD)-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DVIGIL_FUZZ=ON >/dev/null
	@cmake --build $(BUILD)-fuzz -j $(JOBS) --target verifier_soak ebpf_verifier_corpus
	@$(BUILD)-fuzz/fuzz/verifier_soak --programs $(SOAK_PROGRAMS) --seed $(SOAK_SEED) \
	  --corpus tests/ebpf/verifier --objects $(BUILD)-fuzz/src/ebpf/bpf/verifier \
	  $(if $(wildcard ../shared/testdata),--vectors ../shared/testdata)

# Builds every libFuzzer target with clang (ASan+UBSan) and runs each for FUZZ_SECONDS.
FUZZ_SECONDS ?= 60
fuzz: deps
	@CC=clang CXX=clang++ cmake -S . -B $(BUILD)-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DVIGIL_FUZZ=ON >/dev/null
	@cmake --build $(BUILD)-fuzz -j $(JOBS)
	@bash fuzz/run.sh $(BUILD)-fuzz $(FUZZ_SECONDS)

# Installs vigil under PREFIX (default /usr/local; DESTDIR for packaging): the binary, the example
# configuration (etc/vigil.yaml, never over an existing one: that one gets .new beside it), the
# classification and reference tables, the systemd unit (etc/vigil.service, pointed at these
# paths) and the README.
PREFIX ?= /usr/local
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
DESTDIR ?=
install: build
	@install -D -m 0755 $(BUILD)/src/cli/vigil $(DESTDIR)$(PREFIX)/bin/vigil
	@mkdir -p $(DESTDIR)$(SYSCONFDIR)/vigil/rules
	@for f in vigil.yaml classification.config reference.config rules/local.rules; do \
	  dst=$(DESTDIR)$(SYSCONFDIR)/vigil/$$f; [ -e $$dst ] && [ $$f = rules/local.rules ] && continue; \
	  [ -e $$dst ] && dst=$$dst.new; \
	  if [ $$f = rules/local.rules ]; then echo "# your rules" > $$dst; \
	  else sed 's|/etc/vigil/|$(SYSCONFDIR)/vigil/|g' etc/$$f > $$dst; fi; \
	  chmod 0644 $$dst; done
	@install -D -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/vigil/README.md
	@mkdir -p $(DESTDIR)$(PREFIX)/lib/systemd/system
	@sed -e 's|@BINDIR@|$(PREFIX)/bin|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	  -e 's|@DOCDIR@|$(PREFIX)/share/doc/vigil|g' etc/vigil.service \
	  > $(DESTDIR)$(PREFIX)/lib/systemd/system/vigil.service
	@echo "installed vigil in $(DESTDIR)$(PREFIX) (configuration in $(DESTDIR)$(SYSCONFDIR)/vigil)"

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(BUILD)-bench $(BUILD)-fuzz
