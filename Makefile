# kaspa-sensor: a static musl binary for the product, glibc + ASan/UBSan
# builds for the unit tests (cmocka ships only a shared library).

CSTD     := -std=c11 -D_DEFAULT_SOURCE
WARN     := -Wall -Wextra -Werror
MUSL_CC  := musl-gcc
OPT      := -Os -ffunction-sections -fdata-sections
LIBDIR   := /usr/lib/$(shell gcc -dumpmachine)
B        := build

# musl-gcc must not see /usr/include: a folder of links to the few headers.
INC      := $(B)/inc
PB_LIB   := $(LIBDIR)/libprotobuf-nanopb.a
SSL_LIB  := $(LIBDIR)/libbearssl.a
# Debian's nanopb was built with these; generated code must agree.
PB_DEFS  := -DPB_ENABLE_MALLOC

GEN      := $(B)/gen
PROTO_C  := $(GEN)/kaspa.pb.c

# Layers (docs/ARCHITECTURE.md): the data path's spine at the root, the
# rest by folder.  codec/ compiles with only itself on the include path
# (CODEC_INC): a header of the root, net/, session/ or output/ there
# fails the build; test/test_layers.py checks its system includes.
LAYERS   := codec net session output
HDRS     := $(wildcard *.h $(LAYERS:%=%/*.h))
LAYER_INC := -I. $(LAYERS:%=-I%)
CODEC_INC := -Icodec
src_inc   = $(if $(filter codec/%,$<),$(CODEC_INC),-I$(GEN) $(LAYER_INC))

SRCS     := sensor.c session/config.c net/loop.c net/ipmap.c net/addr.c session/peer.c probe.c session/client.c session/crawl.c output/report.c session/announce.c h2.c codec/hpack.c codec/outbuf.c codec/inflate.c kaspa_pb.c output/ndjson.c output/metrics.c
SRCS     += export.c codec/bisect.c codec/http1.c net/tls.c codec/x509_ip.c net/dns.c codec/pem.c codec/jsonr.c codec/jwt.c output/firestore.c compat/fortify_shim.c
SRCS     += net/dial.c net/socks5.c codec/decimal.c net/listener.c codec/json_write.c codec/hex.c
SRCS     += session/handshake.c session/conn.c session/peer_log.c session/options.c session/crawl_opts.c
SRCS     += output/census.c output/census_out.c
OBJS     := $(SRCS:%.c=$(B)/musl/%.o) $(B)/musl/kaspa.pb.o

DEB_ARCH := $(shell dpkg --print-architecture)
# What building and running needs, and what the tests add on top.
BUILD_PKGS := build-essential musl-tools nanopb libnanopb-dev:$(DEB_ARCH) \
            libbearssl-dev:$(DEB_ARCH) protobuf-compiler python3-protobuf \
            ca-certificates
TEST_PKGS := libcmocka-dev python3-grpcio \
            python3-h2 python3-hpack zlib1g-dev clang libclang-rt-14-dev \
            iproute2 iptables microsocks \
            clickhouse-server openssl python3-cryptography \
            gcc-aarch64-linux-gnu musl-dev:arm64 jq time \
            libbearssl-dev:arm64 libnanopb-dev:arm64 qemu-user-static \
            docker.io debootstrap

# Install those of $(1) that are missing (Debian); quiet when none is.
define apt_install
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

deps-build:
	$(call apt_install,$(BUILD_PKGS))

deps:
	@dpkg --print-foreign-architectures | grep -qx arm64 || \
		$(SUDO) dpkg --add-architecture arm64   # *:arm64 packages below
	$(call apt_install,$(BUILD_PKGS) $(TEST_PKGS))

$(INC)/.stamp:
	mkdir -p $(INC)
	ln -sf /usr/include/bearssl /usr/include/bearssl*.h /usr/include/pb.h /usr/include/pb_common.h \
	       /usr/include/pb_decode.h /usr/include/pb_encode.h $(INC)/
	touch $@

$(PROTO_C): proto/kaspa.proto proto/kaspa.options
	mkdir -p $(GEN)
	nanopb_generator.py -q -I proto -D $(GEN) proto/kaspa.proto

$(B)/musl/%.o: %.c $(INC)/.stamp $(PROTO_C) $(HDRS)
	@mkdir -p $(@D)
	$(MUSL_CC) $(CSTD) $(WARN) $(OPT) $(PB_DEFS) -I$(INC) $(src_inc) -c $< -o $@

$(B)/musl/kaspa.pb.o: $(PROTO_C) $(INC)/.stamp
	@mkdir -p $(@D)
	$(MUSL_CC) $(CSTD) $(OPT) $(PB_DEFS) -I$(INC) -I$(GEN) -c $< -o $@

# libprotobuf-nanopb.a is built for glibc but uses no libc beyond mem*.
# PROD_LIBS: the static libraries the product links (arm64 links the same).
PROD_LIBS := $(PB_LIB) $(SSL_LIB)
kaspa-sensor: $(OBJS)
	$(MUSL_CC) -static -s -Wl,--gc-sections -o $@ $(OBJS) $(PROD_LIBS)
	@echo "$@: $$(stat -c %s $@) bytes"

# ---- arm64: the same sources and libraries, cross-built with Debian's
# aarch64 musl (musl-dev:arm64, libs from the arm64 -dev packages) ----
A64_CC   := aarch64-linux-musl-gcc
A64_OBJS := $(SRCS:%.c=$(B)/arm64/%.o) $(B)/arm64/kaspa.pb.o
A64_LIBS := $(subst $(LIBDIR),/usr/lib/aarch64-linux-gnu,$(PROD_LIBS))

$(B)/arm64/%.o: %.c $(INC)/.stamp $(PROTO_C) $(HDRS)
	@mkdir -p $(@D)
	$(A64_CC) $(CSTD) $(WARN) $(OPT) $(PB_DEFS) -I$(INC) $(src_inc) -c $< -o $@

$(B)/arm64/kaspa.pb.o: $(PROTO_C) $(INC)/.stamp
	@mkdir -p $(@D)
	$(A64_CC) $(CSTD) $(OPT) $(PB_DEFS) -I$(INC) -I$(GEN) -c $< -o $@

kaspa-sensor-arm64: $(A64_OBJS)
	$(A64_CC) -static -s -Wl,--gc-sections -o $@ $(A64_OBJS) $(A64_LIBS)
	@echo "$@: $$(stat -c %s $@) bytes"

arm64: kaspa-sensor-arm64

run: deps-build kaspa-sensor
	mkdir -p data
	./kaspa-sensor

# ---- tests: gcc + glibc + sanitizers + cmocka ----
TCC      := gcc
TFLAGS   := $(CSTD) $(WARN) -g -O1 -fsanitize=address,undefined \
            -fno-sanitize-recover=all $(PB_DEFS) $(LAYER_INC) -I$(GEN) -Itest

UNIT     := hpack inflate h2 kaspa_pb json_write ndjson ipmap addr report metrics loop config \
            http1 dns jwt socks5 dial bisect x509_ip jsonr listener census
UNIT     += handshake_engine
test_hpack_DEPS    := codec/hpack.c codec/outbuf.c
test_inflate_DEPS  := codec/inflate.c
test_inflate_LIBS  := -lz
test_h2_DEPS       := h2.c codec/hpack.c codec/outbuf.c codec/inflate.c
test_h2_LIBS       := -lz
test_kaspa_pb_DEPS := kaspa_pb.c $(PROTO_C)
test_kaspa_pb_LIBS := $(PB_LIB)
test_json_write_DEPS := codec/json_write.c codec/hex.c
test_ndjson_DEPS   := output/ndjson.c
test_http1_DEPS    := codec/http1.c codec/decimal.c codec/hex.c
test_jsonr_DEPS    := codec/jsonr.c codec/decimal.c codec/hex.c
test_bisect_DEPS   := codec/bisect.c
test_dns_DEPS      := net/dns.c
test_x509_ip_DEPS  := codec/x509_ip.c
test_socks5_DEPS   := net/socks5.c net/addr.c codec/decimal.c
test_dial_DEPS     := net/dial.c net/socks5.c net/dns.c net/addr.c codec/decimal.c net/loop.c
test_jwt_DEPS      := codec/jwt.c codec/pem.c
test_jwt_LIBS      := $(SSL_LIB)
test_ipmap_DEPS    := net/ipmap.c
test_addr_DEPS     := net/addr.c codec/decimal.c
test_metrics_DEPS  := output/metrics.c codec/http1.c codec/hex.c net/listener.c net/addr.c codec/decimal.c net/loop.c
test_loop_DEPS     := net/loop.c
test_config_DEPS   := session/config.c session/crawl_opts.c session/options.c net/addr.c codec/decimal.c
test_handshake_engine_DEPS := session/handshake.c
# poll() wrapped: the test sees each timeout and injects EINTR/errors.
test_loop_LIBS     := -Wl,--wrap=poll
test_listener_DEPS := net/listener.c net/loop.c net/addr.c codec/decimal.c
# accept4() wrapped: the test makes the next call fail.
test_listener_LIBS := -Wl,--wrap=accept4
# report and census read logs offline: no socket, loop or protocol code.
REPORT_DEPS        := output/report.c net/addr.c codec/decimal.c codec/jsonr.c codec/hex.c
test_report_DEPS   := $(REPORT_DEPS)
test_census_DEPS   := output/census.c output/census_out.c codec/json_write.c $(REPORT_DEPS)
test_census_LIBS   := -lm

# A unit test sits in the folder of test/ that mirrors its module's.
.SECONDEXPANSION:
$(B)/test/test_%: $$(wildcard test/test_$$*.c test/*/test_$$*.c) $$(test_%_DEPS) $(HDRS) $(wildcard test/*.h) $(PROTO_C)
	@mkdir -p $(@D)
	$(TCC) $(TFLAGS) -o $@ $< $(test_$*_DEPS) $(test_$*_LIBS) -lcmocka

# Every binary runs even after one fails, then the self-test of the
# result counter `make test` uses (test/count_results.py).
unit: $(UNIT:%=$(B)/test/test_%) $(OBJS)
	@rc=0; for t in $(UNIT); do echo "== unit: $$t"; $(B)/test/test_$$t || rc=1; done; \
	echo "== unit: count_results"; \
	/usr/bin/python3 test/interop/run_all.py test test_count_results.py || rc=1; \
	echo "== unit: statics (no module keeps file-scope mutable state)"; \
	/usr/bin/python3 test/interop/run_all.py test test_statics.py || rc=1; \
	echo "== unit: layers (codec/ includes no network header)"; \
	/usr/bin/python3 test/interop/run_all.py test test_layers.py || rc=1; \
	exit $$rc

interop: kaspa-sensor
	/usr/bin/python3 test/interop/run_all.py

# ---- fuzzing: clang libFuzzer + ASan/UBSan, seeds captured from real
# peers (fuzz/capture_seeds.py); `make fuzz FUZZ_SECONDS=N` per target ----
FCC      := clang
FFLAGS   := $(CSTD) $(WARN) -g -O1 -fsanitize=fuzzer,address,undefined \
            $(PB_DEFS) $(LAYER_INC) -I$(GEN)
FUZZ     := hpack inflate kaspa_pb json_write h2 config report metrics http1 dns jsonr \
            socks5 x509_ip census kaspa_envelope handshake
fuzz_hpack_DEPS    := codec/hpack.c codec/outbuf.c
fuzz_inflate_DEPS  := codec/inflate.c
fuzz_inflate_LIBS  := -lz
fuzz_kaspa_pb_DEPS := kaspa_pb.c fuzz/kaspa_msg_equal.c $(PROTO_C)
fuzz_kaspa_pb_LIBS := $(PB_LIB)
fuzz_kaspa_envelope_DEPS := $(fuzz_kaspa_pb_DEPS)
fuzz_kaspa_envelope_LIBS := $(PB_LIB)
fuzz_json_write_DEPS := codec/json_write.c codec/hex.c
fuzz_http1_DEPS    := codec/http1.c codec/decimal.c codec/hex.c
fuzz_dns_DEPS      := net/dns.c
fuzz_x509_ip_DEPS  := codec/x509_ip.c
fuzz_socks5_DEPS   := net/socks5.c net/addr.c codec/decimal.c
fuzz_jsonr_DEPS    := codec/jsonr.c codec/decimal.c codec/hex.c
fuzz_h2_DEPS       := h2.c codec/hpack.c codec/outbuf.c codec/inflate.c
fuzz_config_DEPS   := session/config.c session/options.c net/addr.c codec/decimal.c
fuzz_metrics_DEPS  := output/metrics.c codec/http1.c codec/hex.c net/listener.c net/addr.c codec/decimal.c net/loop.c
fuzz_config_RUN    := -close_fd_mask=3
fuzz_report_DEPS   := $(REPORT_DEPS)
fuzz_census_DEPS   := $(test_census_DEPS)
fuzz_census_LIBS   := $(test_census_LIBS)
fuzz_handshake_DEPS := session/handshake.c
FUZZ_SECONDS ?= 60
SMOKE_SECONDS ?= 4
SEEDS    := $(B)/fuzz/seeds
# Committed corpora, minimized (`make fuzz-corpus`): every run starts from
# them, read only; what a run finds goes to $(B)/fuzz/corpus.
CORPUS   := fuzz/corpus

$(B)/fuzz/fuzz_%: fuzz/fuzz_%.c $$(fuzz_%_DEPS) $(HDRS) $(PROTO_C)
	@mkdir -p $(@D)
	$(FCC) $(FFLAGS) -o $@ $< $(fuzz_$*_DEPS) $(fuzz_$*_LIBS)

$(SEEDS)/.stamp: fuzz/capture_seeds.py $(wildcard test/peers/*.py)
	rm -rf $(SEEDS)
	/usr/bin/python3 fuzz/capture_seeds.py $(SEEDS)
	touch $@

.PRECIOUS: $(B)/fuzz/fuzz_%
fuzz-run-%: $(B)/fuzz/fuzz_% $(SEEDS)/.stamp
	@mkdir -p $(SEEDS)/$*   # targets without captured seeds start empty
	@sh fuzz/run.sh $< $(SECS) $(B)/fuzz/corpus/$* $(wildcard $(CORPUS)/$*) \
	    $(SEEDS)/$* $(fuzz_$*_RUN) $(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS))

# -k: every target runs even after one crashes.
fuzz:
	@$(MAKE) -s -k $(FUZZ:%=fuzz-run-%) SECS=$(FUZZ_SECONDS)

fuzz-smoke:
	@$(MAKE) -s -k $(FUZZ:%=fuzz-run-%) SECS=$(SMOKE_SECONDS)

# The long campaign, one target after another, logs in $(B)/fuzz/long:
# `make fuzz-long HOURS=N` shares N hours among the targets, `make
# fuzz-long FUZZ_RUNS=N` runs each to N executions (FUZZ="h2 hpack" picks
# targets).  Then `make fuzz-corpus` keeps what they found.
fuzz-long:
	@$(MAKE) -s -k $(FUZZ:%=fuzz-run-%) FUZZ_LOG_DIR=$(B)/fuzz/long \
	    SECS=$(if $(FUZZ_RUNS),0,$(shell awk 'BEGIN { print int($(HOURS) * 3600 / $(words $(FUZZ))) }'))

# Minimizes each committed corpus plus what runs added to it (-merge=1).
fuzz-corpus: $(FUZZ:%=fuzz-corpus-%)
fuzz-corpus-%: $(B)/fuzz/fuzz_% $(SEEDS)/.stamp
	@rm -rf $(B)/fuzz/merged/$* && mkdir -p $(B)/fuzz/merged/$* $(B)/fuzz/corpus/$* $(SEEDS)/$*
	@$< -merge=1 $(fuzz_$*_RUN) $(B)/fuzz/merged/$* $(wildcard $(CORPUS)/$*) \
	    $(B)/fuzz/corpus/$* $(SEEDS)/$* >$(B)/fuzz/merged/$*.log 2>&1 || \
	    { tail -20 $(B)/fuzz/merged/$*.log; exit 1; }
	@rm -rf $(CORPUS)/$* && mkdir -p $(CORPUS) && mv $(B)/fuzz/merged/$* $(CORPUS)/$*
	@echo "$(CORPUS)/$*: $$(ls $(CORPUS)/$* | wc -l) inputs, $$(cat $(CORPUS)/$*/* | wc -c) bytes"

# The sensor itself under ASan/UBSan (glibc; it has the checked mem*
# functions the shim supplies to musl): the robust tests that look for
# memory errors run it.
$(B)/asan/kaspa-sensor: $(filter-out compat/fortify_shim.c,$(SRCS)) $(PROTO_C) $(HDRS)
	@mkdir -p $(@D)
	$(TCC) $(TFLAGS) -o $@ $(filter %.c,$^) $(PROD_LIBS) -lm

# Fault and abuse tests (flood, slowloris, kill -9, rotation, disk full,
# SIGTERM): loopback only; the disk-full test mounts a tmpfs (root).
robust: kaspa-sensor $(B)/asan/kaspa-sensor
	/usr/bin/python3 test/robust/run_all.py

# ---- fleet: the scratch image's root in a chroot (root only), and the
# arm64 binary under qemu; both complete real handshakes ----
test-scratch: kaspa-sensor
	/usr/bin/python3 test/interop/run_all.py test/fleet test_scratch.py

# Census: a live fleet on loopback with known truth, 50 offline samplings
# of the estimate, the command on hostile files.
census-test: kaspa-sensor
	/usr/bin/python3 test/interop/run_all.py test/census 'test_*.py'

test-arm64: kaspa-sensor-arm64
	/usr/bin/python3 test/interop/run_all.py test/fleet test_arm64.py

# Dockerfile.scratch built and run by a dockerd of the suite's own (root,
# cgroups); debian:12 from debootstrap, cached in /var/cache/kaspa-sensor-test.
# The image build alone takes ~3 min: the runner's watchdog gets 20.
test-docker:
	INTEROP_WATCHDOG_S=1200 /usr/bin/python3 test/interop/run_all.py test/fleet test_docker.py

# Export end to end: a real ClickHouse (HTTPS, test CA made with openssl)
# and a local Firestore stand-in; loopback only.
export-test: kaspa-sensor
	/usr/bin/python3 test/export/run_all.py

# ---- benchmarks (BENCHMARKS.md): gcc -O2 tools, the product as shipped ----
BENCH_SRCS := h2.c codec/hpack.c codec/outbuf.c codec/inflate.c kaspa_pb.c net/loop.c $(PROTO_C)

$(B)/bench/loadgen: bench/loadgen.c $(BENCH_SRCS) $(HDRS)
	@mkdir -p $(@D)
	$(TCC) $(CSTD) $(WARN) -O2 -g $(PB_DEFS) $(LAYER_INC) -I$(GEN) -o $@ $< $(BENCH_SRCS) $(PB_LIB)

$(B)/bench/ceiling: bench/ceiling.c
	@mkdir -p $(@D)
	$(TCC) $(CSTD) $(WARN) -O2 -o $@ $<

bench: kaspa-sensor $(B)/bench/loadgen $(B)/bench/ceiling
	bench/run.sh

# Every suite, then one total line (test/run_suites.sh).
test: deps
	test/run_suites.sh

clean:
	rm -rf $(B) kaspa-sensor
