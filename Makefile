# Switchyard - one non-recursive GNU Makefile.
#
#   make            build build/switchyard and build/mock-llm (installs
#                   nothing: says which packages are missing)
#   make run        install what is missing, then the gateway behind
#                   lighttpd on 127.0.0.1:$(PORT) (foreground)
#   make test       install what is missing, then unit, fuzz smoke,
#                   integration and client tests (real servers)
#   make test SAN=address,undefined    the same under sanitizers
#   make deps       install the Debian packages everything needs
#   make install    the binary, man page, systemd units and conf/ under
#                   DESTDIR + PREFIX (/usr/local); 'make uninstall'
#   make help       every target
#
# V=1 shows full command lines; WERROR=0 turns -Werror off for packagers;
# DEPS_CHECK=0 skips the check for the test packages (package builds).

PORT ?= 8080
SAN ?=
V ?= 0
WERROR ?= 1

# BUILD=DIR puts the objects elsewhere (two builds side by side).
ifeq ($(SAN),)
BUILD ?= build
else
BUILD ?= build-san
endif

CC ?= cc
PKGS := libcurl json-c hiredis libcrypto libpcre2-8
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wold-style-definition -Wwrite-strings -Wpointer-arith -Wcast-qual \
        -Wformat=2 -Wundef -Wvla -Wimplicit-fallthrough
ifeq ($(WERROR),1)
WARN += -Werror
endif
OPT := -O2 -g -fno-omit-frame-pointer
HARDEN := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
CFLAGS_ALL := -std=c11 -D_GNU_SOURCE -Icore -I. $(OPT) $(WARN) $(HARDEN) -MMD -MP \
              $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(CFLAGS)
LDFLAGS_ALL := -pie -Wl,-z,relro,-z,now $(LDFLAGS)
LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lfcgi -lpthread -lm
ifneq ($(SAN),)
CFLAGS_ALL += -fsanitize=$(SAN) -fno-sanitize-recover=all
LDFLAGS_ALL += -fsanitize=$(SAN)
endif

# The allocator of switchyard and of the unit, adapter and fuzz-replay
# tests (so that they run the one that ships; libFuzzer's binaries keep
# their own). json-c, libfcgi and libcurl allocate and free on every
# request, from up to hundreds of threads; glibc's malloc spent about a
# fifth of the workers' CPU there (bench/RESULTS.md, "The allocator").
# MALLOC=tcmalloc (gperftools' thread-caching malloc, the default) or
# MALLOC=libc. Sanitizers bring their own allocator.
MALLOC ?= tcmalloc
ifneq ($(SAN),)
override MALLOC := libc
endif
ifeq ($(MALLOC),tcmalloc)
MALLOC_LIBS := $(shell pkg-config --libs libtcmalloc_minimal 2>/dev/null)
else ifeq ($(MALLOC),libc)
MALLOC_LIBS :=
else
$(error MALLOC is tcmalloc or libc)
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

# ---------------------------------------------------------------- sources
# core/ is one folder per layer, lowest first (docs/architecture.md;
# tools/layers.sh checks that includes and calls only go down).
LAYERS := base contract api config io state serve
CORE_SRC := $(foreach l,$(LAYERS),$(sort $(wildcard core/$(l)/*.c)))
ADAPTER_SRC := $(sort $(wildcard adapters/*.c))
FCGI_SRC := $(sort $(wildcard fcgi/*.c))
CLI_SRC := $(sort $(wildcard cli/*.c))
MOCK_SRC := $(sort $(wildcard tests/fakes/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))

# Redis Lua scripts live as .lua files (core/state/lua/NAME.lua) and are
# embedded at build time as sy_lua_NAME() (declared in core/state/lua.h).
LUA_SRC := $(sort $(wildcard core/state/lua/*.lua))
LUA_OBJ := $(patsubst core/state/lua/%.lua,$(BUILD)/gen/lua/%.o,$(LUA_SRC))

GEN_CONFIG := $(BUILD)/gen/embedded_config.c
# The dashboard page is embedded the same way, as sy_dashboard_html()
# (core/serve/dashboard.h).
DASH_HTML := core/serve/dashboard.html
LIB_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(CORE_SRC) $(ADAPTER_SRC)) \
           $(BUILD)/gen/embedded_config.o $(LUA_OBJ) $(BUILD)/gen/dashboard_html.o
FCGI_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(FCGI_SRC) $(CLI_SRC))
MOCK_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(MOCK_SRC))
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRC))

SWITCHYARD := $(BUILD)/switchyard
MOCK := $(BUILD)/mock-llm
LIBSY := $(BUILD)/libswitchyard.a

.PHONY: all deps deps-check run run-now test test-now check unit integration client-test lint clean help \
        FORCE
all: deps-check $(SWITCHYARD) $(MOCK)

# ------------------------------------------------------------ deps check
# pkg-config runs when the Makefile is parsed, so the packages must be there
# before make reads this file. 'make run' and 'make test' therefore install
# them first (tools/deps.sh, cheap when all is there) and then run the real
# target in a fresh make ('run-now', 'test-now') that sees the libraries.
# A plain 'make' installs nothing; it says what is missing.
deps:
	$(Q)sh tools/deps.sh

# DEPS_CHECK=0: a package build has its Build-Depends, not the test tools.
DEPS_CHECK ?= 1
deps-check:
	$(Q)[ "$(DEPS_CHECK)" = 0 ] || sh tools/deps.sh --check

# Rebuild everything when the flags change (Redis' .make-settings idea).
$(BUILD)/.flags: FORCE
	@mkdir -p $(BUILD)
	@echo '$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) $(LIBS) $(MALLOC_LIBS)' > $@.new
	@cmp -s $@.new $@ || mv $@.new $@; rm -f $@.new

$(BUILD)/%.o: %.c $(BUILD)/.flags | deps-check
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(GEN_CONFIG): conf/switchyard.json tools/embed.sh
	@mkdir -p $(dir $@)
	$(Q)sh tools/embed.sh $< sy_config_embedded > $@

$(BUILD)/gen/embedded_config.o: $(GEN_CONFIG) $(BUILD)/.flags
	$(Q)$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(BUILD)/gen/lua/%.c: core/state/lua/%.lua tools/embed.sh
	@mkdir -p $(dir $@)
	$(Q)sh tools/embed.sh $< sy_lua_$* > $@

$(BUILD)/gen/lua/%.o: $(BUILD)/gen/lua/%.c $(BUILD)/.flags
	$(Q)$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(BUILD)/gen/dashboard_html.c: $(DASH_HTML) tools/embed.sh
	@mkdir -p $(dir $@)
	$(Q)sh tools/embed.sh $< sy_dashboard_html > $@

$(BUILD)/gen/dashboard_html.o: $(BUILD)/gen/dashboard_html.c $(BUILD)/.flags
	$(Q)$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(LIBSY): $(LIB_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(SWITCHYARD): $(FCGI_OBJ) $(LIBSY)
	@$(if $(Q),echo "  LD      $@")
	@[ "$(MALLOC)" != tcmalloc ] || [ -n "$(MALLOC_LIBS)" ] || \
	    { echo "MALLOC=tcmalloc needs libgoogle-perftools-dev ('make deps'), or build with MALLOC=libc" >&2; exit 1; }
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $(FCGI_OBJ) $(LIBSY) $(LIBS) $(MALLOC_LIBS)

$(MOCK): $(MOCK_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(shell pkg-config --libs json-c) -lpthread -lm

# The delaying TCP relay of the multi-host tests (tests/fakes/relay/).
RELAY := $(BUILD)/relay
all: $(RELAY)
$(RELAY): $(BUILD)/tests/fakes/relay/relay.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^

# Unit tests: one cmocka binary per core module; each may include the .c
# under test to reach static functions.
$(BUILD)/tests/unit/%: tests/unit/%.c $(LIBSY) $(BUILD)/.flags
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(LIBSY) $(LIBS) -lcmocka $(MALLOC_LIBS)

# ------------------------------------------------------------------ tests
test: deps
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD) test-now
test-now: all $(UNIT_BIN) $(BUILD)/tests/adapters/test_adapters fuzz-build
	$(Q)FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SMOKE_RUNS=$(FUZZ_SMOKE_RUNS) sh tests/run-all.sh $(BUILD)
check: test

unit: all $(UNIT_BIN)
	$(Q)sh tests/unit/run $(BUILD)

integration: all
	$(Q)sh tests/integration/run.sh $(BUILD)

client-test: all
	$(Q)cd tests/client && { { [ -d node_modules/openai ] && [ -d node_modules/@anthropic-ai/sdk ] && [ -d node_modules/@anthropic-ai/claude-code ]; } || npm ci --no-audit --no-fund --engine-strict=false; } && SY_BUILD_DIR=$(BUILD) node --test ./*.test.js

# Adapter golden tests: every case folder under tests/adapters/<provider>/,
# streaming replies fed at every split point.
.PHONY: adapters-test
adapters-test: deps-check $(BUILD)/tests/adapters/test_adapters
	$(Q)$(BUILD)/tests/adapters/test_adapters tests/adapters

ADAPTER_TEST_SRC := $(sort $(wildcard tests/adapters/*.c))
$(BUILD)/tests/adapters/test_adapters: $(ADAPTER_TEST_SRC) tests/adapters/golden.h $(LIBSY) $(BUILD)/.flags
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $(ADAPTER_TEST_SRC) $(LIBSY) $(LIBS) -lcmocka $(MALLOC_LIBS)

# ------------------------------------------------------------------- run
run: deps
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD) run-now
run-now: all
	$(Q)PORT=$(PORT) sh tools/run.sh $(BUILD)

# --------------------------------------------------------------- install
# GNU-style directories; the Debian package (debian/rules) installs with
# PREFIX=/usr. The units in conf/systemd/ name /usr/bin/switchyard and
# /etc/switchyard; they are rewritten to BINDIR and SYSCONFDIR here. An
# existing SYSCONFDIR/switchyard/switchyard.json is never overwritten (the
# shipped one is also in DOCDIR/examples/).
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
DOCDIR ?= $(DATADIR)/doc/switchyard
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR ?= $(if $(filter /usr,$(PREFIX)),$(or $(shell pkg-config \
             --variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system),$(PREFIX)/lib/systemd/system)
# switchyard.logrotate: copy it to /etc/logrotate.d (the package does).
INSTALL_SHARE := $(wildcard conf/*.conf) conf/switchyard.logrotate \
                 $(filter-out conf/switchyard.json,$(wildcard conf/*.json))
INSTALL_DOCS := README.md $(filter-out docs/style.md,$(wildcard docs/*.md))
# INSTALL_UNITS= leaves the units out (debian/rules: dh_installsystemd
# installs them where its Debian release keeps units).
INSTALL_UNITS ?= switchyard.service switchyard.socket
UNIT_SED := -e 's|/usr/bin/switchyard|$(BINDIR)/switchyard|g' \
            -e 's|/etc/switchyard/|$(SYSCONFDIR)/switchyard/|g'

.PHONY: install uninstall
install: $(SWITCHYARD)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(DATADIR)/switchyard $(DESTDIR)$(DOCDIR)/examples \
	    $(DESTDIR)$(SYSCONFDIR)/switchyard \
	    $(if $(INSTALL_UNITS),$(DESTDIR)$(UNITDIR))
	install -m 0755 $(SWITCHYARD) $(DESTDIR)$(BINDIR)/switchyard
	install -m 0644 docs/switchyard.1 $(DESTDIR)$(MANDIR)/man1/switchyard.1
	install -m 0644 $(INSTALL_SHARE) $(DESTDIR)$(DATADIR)/switchyard/
	install -m 0644 $(INSTALL_DOCS) $(DESTDIR)$(DOCDIR)/
	install -m 0644 conf/switchyard.json $(DESTDIR)$(DOCDIR)/examples/
	[ -e $(DESTDIR)$(SYSCONFDIR)/switchyard/switchyard.json ] || \
	    install -m 0644 conf/switchyard.json $(DESTDIR)$(SYSCONFDIR)/switchyard/
	for u in $(INSTALL_UNITS); do \
	    sed $(UNIT_SED) conf/systemd/$$u > $(DESTDIR)$(UNITDIR)/$$u.tmp && \
	    chmod 0644 $(DESTDIR)$(UNITDIR)/$$u.tmp && \
	    mv $(DESTDIR)$(UNITDIR)/$$u.tmp $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done

# Removes what install put there; the config only when it is unchanged.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/switchyard $(DESTDIR)$(MANDIR)/man1/switchyard.1
	rm -f $(addprefix $(DESTDIR)$(UNITDIR)/,$(INSTALL_UNITS))
	rm -rf $(DESTDIR)$(DATADIR)/switchyard $(DESTDIR)$(DOCDIR)
	if cmp -s conf/switchyard.json $(DESTDIR)$(SYSCONFDIR)/switchyard/switchyard.json; then \
	    rm -f $(DESTDIR)$(SYSCONFDIR)/switchyard/switchyard.json; \
	    rmdir $(DESTDIR)$(SYSCONFDIR)/switchyard 2>/dev/null || true; \
	elif [ -e $(DESTDIR)$(SYSCONFDIR)/switchyard/switchyard.json ]; then \
	    echo "uninstall: kept $(DESTDIR)$(SYSCONFDIR)/switchyard/switchyard.json (edited)"; \
	fi

# Benchmark: mock, nginx, lighttpd + FastCGI, switchyard behind lighttpd
# and Apache, Redis, all on free 127.0.0.1 ports and stopped at the end
# (bench/run.sh; BENCH_* knobs there). Summary and raw data in
# $(BUILD)/bench/results-<date>/.
.PHONY: bench
bench: all
	$(Q)bash bench/run.sh $(BUILD)

# What a GET /metrics scrape costs (Redis commands and round trips,
# latency, size) for 3/30/300 deployments and 0/100/1000 virtual keys:
# bench/scrape.js, one Redis + mock + switchyard + lighttpd per size on
# free 127.0.0.1 ports, stopped at the end (about 3 minutes). Results in
# $(BUILD)/bench-scrape/ (summary.md, results.json).
.PHONY: bench-scrape
bench-scrape: all
	$(Q)node bench/scrape.js --build $(BUILD) --out $(BUILD)/bench-scrape

# The routing benchmark (bench/routing/, bench/ROUTING.md): every strategy
# on the same seeded scenarios through lighttpd + switchyard + Redis +
# the mock. SCENARIO=name[,name] (default all), DURATION=seconds per
# scenario (default 45; the timeline scales with it), CALLERS per group,
# SEED. Results and charts in $(BUILD)/bench-routing/ (summary.md).
SCENARIO ?= all
DURATION ?= 45
CALLERS ?= 6
SEED ?= 1
.PHONY: bench-routing
bench-routing: all
	$(Q)node bench/routing/run.js --build $(BUILD) --scenario $(SCENARIO) \
	    --duration $(DURATION) --callers $(CALLERS) --seed $(SEED) \
	    --out $(BUILD)/bench-routing
	$(Q)node bench/routing/report.js --in $(BUILD)/bench-routing

# ------------------------------------------------------------------ fuzz
# libFuzzer targets (tests/fuzz/fuzz_*.c, see tests/fuzz/README.md), built
# with clang into their own directory whatever BUILD and SAN say: the
# library objects with -fsanitize=fuzzer-no-link,address,undefined, each
# target linked with -fsanitize=fuzzer. Seed corpora are generated from the
# golden adapter cases and conf/ by tests/fuzz/seeds.sh.
#   make fuzz                every target for FUZZ_SECONDS each (or FUZZ_RUNS)
#   make fuzz-smoke          every target over its seeds, FUZZ_SMOKE_RUNS
#   make fuzz-build          build only
#   make fuzz-<name>         one target (e.g. fuzz-chat) for FUZZ_SECONDS
#   make fuzz-replay         the inputs again, production build, 256 KiB stacks
FUZZ_BUILD ?= build-fuzz
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_RUNS ?=
FUZZ_SMOKE_RUNS ?= 2000
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -Icore -I. -O1 -g -fno-omit-frame-pointer \
               $(filter-out -Werror,$(WARN)) $(FUZZ_SAN) -MMD -MP \
               $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRC))
FUZZ_BIN := $(patsubst %,$(FUZZ_BUILD)/fuzz_%,$(FUZZ_NAMES))
FUZZ_LIB_OBJ := $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(CORE_SRC) $(ADAPTER_SRC)) \
                $(FUZZ_BUILD)/obj/gen/embedded_config.o \
                $(patsubst core/state/lua/%.lua,$(FUZZ_BUILD)/obj/gen/lua/%.o,$(LUA_SRC)) \
                $(FUZZ_BUILD)/obj/gen/dashboard_html.o
FUZZ_LIB := $(FUZZ_BUILD)/libswitchyard-fuzz.a
FUZZ_OPTS = $(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS),-max_total_time=$(FUZZ_SECONDS))

FUZZ_SEEDS := $(FUZZ_BUILD)/corpus/.stamp

.PHONY: fuzz fuzz-build fuzz-smoke fuzz-seeds
fuzz-build: deps-check $(FUZZ_BIN) $(FUZZ_SEEDS)

$(FUZZ_BUILD)/obj/%.o: %.c | deps-check
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/obj/gen/embedded_config.c: conf/switchyard.json tools/embed.sh
	@mkdir -p $(dir $@)
	$(Q)sh tools/embed.sh $< sy_config_embedded > $@

$(FUZZ_BUILD)/obj/gen/embedded_config.o: $(FUZZ_BUILD)/obj/gen/embedded_config.c
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/obj/gen/lua/%.c: core/state/lua/%.lua tools/embed.sh
	@mkdir -p $(dir $@)
	$(Q)sh tools/embed.sh $< sy_lua_$* > $@

$(FUZZ_BUILD)/obj/gen/lua/%.o: $(FUZZ_BUILD)/obj/gen/lua/%.c
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/obj/gen/dashboard_html.c: $(DASH_HTML) tools/embed.sh
	@mkdir -p $(dir $@)
	$(Q)sh tools/embed.sh $< sy_dashboard_html > $@

$(FUZZ_BUILD)/obj/gen/dashboard_html.o: $(FUZZ_BUILD)/obj/gen/dashboard_html.c
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(LIBS)

# Regenerated when a golden case, a hand-made seed or the script changes.
$(FUZZ_SEEDS): tests/fuzz/seeds.sh conf/switchyard.json \
               $(wildcard tests/adapters/*/provider.json tests/adapters/*/*/* \
                          tests/fuzz/seeds/*/*)
	$(Q)sh tests/fuzz/seeds.sh $(FUZZ_BUILD)/corpus && touch $@
fuzz-seeds: $(FUZZ_SEEDS)

fuzz: fuzz-build
	$(Q)sh tests/fuzz/run.sh $(FUZZ_BUILD) long $(FUZZ_OPTS)

fuzz-smoke: fuzz-build
	$(Q)sh tests/fuzz/run.sh $(FUZZ_BUILD) smoke -runs=$(FUZZ_SMOKE_RUNS)

# The same targets built with CC against BUILD's library (production
# flags, no sanitizer) and replayed over the seeds and what long runs
# found, each input in a thread with the workers' 256 KiB stack
# (tests/fuzz/replay.c): a recursion too deep for a worker crashes here.
FUZZ_REPLAY := $(patsubst %,$(BUILD)/tests/fuzz/replay_%,$(FUZZ_NAMES))
.PHONY: fuzz-replay
$(BUILD)/tests/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz.h $(LIBSY) $(BUILD)/.flags
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< tests/fuzz/replay.c $(LIBSY) $(LIBS) $(MALLOC_LIBS)

fuzz-replay: $(FUZZ_REPLAY) $(FUZZ_SEEDS)
	$(Q)mkdir -p $(FUZZ_BUILD)/logs; for t in $(FUZZ_NAMES); do \
	    printf '%s: ' $$t; \
	    $(BUILD)/tests/fuzz/replay_$$t $(FUZZ_BUILD)/corpus/$$t \
	        $$(test -d $(FUZZ_BUILD)/work/$$t && echo $(FUZZ_BUILD)/work/$$t) \
	        2>$(FUZZ_BUILD)/logs/replay-$$t.err || \
	        { echo "FAILED on:"; tail -n 1 $(FUZZ_BUILD)/logs/replay-$$t.err; exit 1; }; \
	done

fuzz-%: $(FUZZ_BUILD)/fuzz_% $(FUZZ_SEEDS)
	$(Q)sh tests/fuzz/run.sh $(FUZZ_BUILD) long $(FUZZ_OPTS) -- $*

# Style checked by machines: house rules (tools/lint.sh), the layer rule
# on includes and on the built objects (tools/layers.sh), clang-format
# (tools/format.sh), file and function sizes (tools/sizes.sh), cppcheck
# (tools/cppcheck.sh). 'make test' runs the same checks first.
lint: all
	$(Q)sh tools/lint.sh
	$(Q)sh tools/layers.sh $(BUILD)
	$(Q)sh tools/format.sh
	$(Q)sh tools/sizes.sh
	$(Q)sh tools/cppcheck.sh

clean:
	rm -rf build build-san build-fuzz

help:
	@sed -n '1,16p' Makefile | sed 's/^# \{0,1\}//'

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
-include $(shell find $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
