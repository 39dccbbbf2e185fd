# netc — build, test, demo and benchmark.
#
#   make          build ./netc
#   make check    build and run every unit test (check framework), in
#                 parallel under make -j
#   make check-clang, check-asan   the same with clang; under ASan+UBSan
#   make fuzz     run each libFuzzer target for FUZZ_SECONDS (default 60)
#   make demo     install missing packages (as root), build, train the demo
#   make bench    netc against PyTorch, side by side
#   make install    PREFIX=/usr/local (default) and DESTDIR for staging
#   make uninstall  the same variables: removes what install put there
#   make clean

CC      ?= cc
CFLAGS  ?= -O3 -march=native -g
# ISO C mode keeps the compiler from contracting a*b+c into FMAs, so results
# do not depend on optimisation choices (and match PyTorch's roundings);
# without errno, sqrtf is one instruction and loops using it vectorise.
# `override` keeps these when CFLAGS is given on the command line (a
# sanitizer build): they are part of what netc computes, not tuning.
override CFLAGS += -std=c11 -fno-math-errno -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wshadow -Wno-unused-parameter
CPPFLAGS += -I. -Igrammar -Ibuild/grammar
# OpenBLAS is not linked: runtime/blas.c loads it when first needed, after
# choosing its kernel set for the CPU.
LDLIBS  += -lz -lm -lpthread -ldl
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lpthread -lm)

BUILD   = build
GEN     = $(BUILD)/grammar/parser.c $(BUILD)/grammar/parser.h $(BUILD)/grammar/lexer.c $(BUILD)/grammar/lexer.h
# The ONNX files that need protobuf-c (see ONNX_FOUND below).
ONNX_SRC = compiler/onnx_export.c compiler/onnx_import.c compiler/onnx_pb.c
LIB_SRC = $(wildcard grammar/*.c compiler/*.c runtime/*.c)
LIB_SRC := $(filter-out compiler/main.c runtime/dist_mpi.c $(ONNX_SRC) compiler/onnx_cmd.c,$(LIB_SRC))
LIB_OBJ = $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/grammar/parser.o $(BUILD)/grammar/lexer.o \
          $(BUILD)/emit/kernels_text.o
TESTS   = $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/test_*.c))
HEADERS = $(wildcard grammar/*.h compiler/*.h runtime/*.h compiler/*.def tests/*.h)
# Generated from the catalog: see `syntax` below.
SYNTAX_FILES = editors/vim/syntax/netc.vim editors/textmate/netc.tmLanguage.json man/netc.net.5

.PHONY: all check demo bench bench-conv clean deps golden torch-check install uninstall syntax
all: netc $(SYNTAX_FILES)

# One run of bison writes both parser files (and of flex both lexer
# files): grouped targets (&:, GNU make 4.3), so that make -j runs each
# recipe once rather than once per file, two writers on the same outputs.
$(BUILD)/grammar/parser.c $(BUILD)/grammar/parser.h &: grammar/parser.y
	@mkdir -p $(BUILD)/grammar
	bison -Wall -Werror --defines=$(BUILD)/grammar/parser.h -o $(BUILD)/grammar/parser.c $<

$(BUILD)/grammar/lexer.c $(BUILD)/grammar/lexer.h &: grammar/lexer.l $(BUILD)/grammar/parser.h
	@mkdir -p $(BUILD)/grammar
	flex --header-file=$(BUILD)/grammar/lexer.h -o $(BUILD)/grammar/lexer.c $<

# Generated code is not held to our warning flags.
GEN_CFLAGS = $(CPPFLAGS) $(filter-out -Wshadow,$(CFLAGS)) -Wno-sign-compare -Wno-unused-function
$(BUILD)/grammar/parser.o: $(BUILD)/grammar/parser.c $(GEN) $(HEADERS)
	$(CC) $(GEN_CFLAGS) -c -o $@ $<
$(BUILD)/grammar/lexer.o: $(BUILD)/grammar/lexer.c $(GEN) $(HEADERS)
	$(CC) $(GEN_CFLAGS) -c -o $@ $<

# im2col copies rows of 10 to 30 floats; gcc would turn each into a memmove
# call, which costs more than the copy.  (A gcc option: clang has none such
# and rejects it.)
CC_IS_CLANG := $(shell $(CC) --version 2>/dev/null | grep -q clang && echo 1)
$(BUILD)/runtime/conv_unfold.o: CFLAGS += $(if $(CC_IS_CLANG),,-fno-tree-loop-distribute-patterns)
# The direct kernels keep their blocks in 32 vector registers: with
# AVX-512, whole 512-bit ones (gcc prefers 256-bit vectors by default).
$(BUILD)/runtime/conv_direct.o: CFLAGS += -mprefer-vector-width=512

$(BUILD)/%.o: %.c $(HEADERS) $(GEN)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# The kernels the C emitter embeds in generated code: every runtime file an
# ops.def call expression reaches (an emitted model that calls a kernel
# missing here fails to compile in tests/emit.sh).
EMIT_KERNELS = runtime/act_kernels.c runtime/linear.c runtime/gemm.c runtime/softmax.c runtime/loss.c \
               runtime/dropout.c runtime/rng.c runtime/optim.c runtime/prelu.c runtime/rrelu.c runtime/glu.c \
               runtime/alpha_dropout.c runtime/loss_elem.c runtime/optim_adam_family.c runtime/optim_adaptive.c \
               runtime/optim_asgd.c runtime/optim_rprop.c runtime/embedding_kernels.c runtime/sparse_adam.c \
               runtime/torch_sum.c runtime/clip.c runtime/lbfgs.c runtime/strong_wolfe.c \
               runtime/pooling.c runtime/batchnorm.c runtime/dropout_channels.c runtime/conv.c runtime/conv_unfold.c \
               runtime/conv_direct.c
$(BUILD)/emit/kernels_text.c: $(EMIT_KERNELS) $(HEADERS) scripts/embed-kernels.sh Makefile
	@mkdir -p $(BUILD)/emit
	sh scripts/embed-kernels.sh "$(CC)" $@ $(EMIT_KERNELS)
$(BUILD)/emit/kernels_text.o: $(BUILD)/emit/kernels_text.c
	$(CC) $(CFLAGS) -w -c -o $@ $<

$(BUILD)/libnetc.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

# Data-parallel training: Open MPI when installed (pkg-config ompi, else
# mpicc's flags), linked into netc alone (runtime/dist_mpi.c); without it
# netc builds as before and refuses to run as several MPI processes.
MPI_CFLAGS := $(shell pkg-config --cflags ompi 2>/dev/null || mpicc --showme:compile 2>/dev/null)
MPI_LIBS   := $(shell pkg-config --libs ompi 2>/dev/null || mpicc --showme:link 2>/dev/null)
MPI_FOUND  := $(if $(MPI_LIBS),1,)
$(BUILD)/runtime/dist_mpi.o: runtime/dist_mpi.c $(HEADERS) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(if $(MPI_FOUND),-DNETC_MPI $(MPI_CFLAGS)) -c -o $@ $<

# ONNX export and import: protobuf-c's runtime and compiler (Debian's
# libprotobuf-c-dev, protobuf-c-compiler) with ONNX's onnx.proto, kept in
# third_party/onnx; protoc-c writes the C for it at build time.  Linked
# into netc alone, as MPI is; without protobuf-c netc builds as before and
# `netc export` / `netc import` say what to install.
ONNX_LIBS  := $(shell pkg-config --libs libprotobuf-c 2>/dev/null)
ONNX_FOUND := $(if $(and $(ONNX_LIBS),$(shell command -v protoc-c 2>/dev/null)),1,)
ONNX_OBJ    = $(BUILD)/compiler/onnx_cmd.o $(if $(ONNX_FOUND),$(ONNX_SRC:%.c=$(BUILD)/%.o) $(BUILD)/onnx/onnx.pb-c.o)
ONNX_CFLAGS = -DNETC_ONNX -I$(BUILD)/onnx $(shell pkg-config --cflags libprotobuf-c 2>/dev/null)
$(BUILD)/onnx/onnx.pb-c.c $(BUILD)/onnx/onnx.pb-c.h &: third_party/onnx/onnx.proto
	@mkdir -p $(BUILD)/onnx
	protoc-c --proto_path=third_party/onnx --c_out=$(BUILD)/onnx third_party/onnx/onnx.proto
$(BUILD)/onnx/onnx.pb-c.o: $(BUILD)/onnx/onnx.pb-c.c $(BUILD)/onnx/onnx.pb-c.h
	$(CC) $(GEN_CFLAGS) $(ONNX_CFLAGS) -c -o $@ $<
$(ONNX_SRC:%.c=$(BUILD)/%.o): $(BUILD)/%.o: %.c $(HEADERS) $(GEN) $(BUILD)/onnx/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(ONNX_CFLAGS) -c -o $@ $<
$(BUILD)/compiler/onnx_cmd.o: compiler/onnx_cmd.c $(HEADERS) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(if $(ONNX_FOUND),-DNETC_ONNX) -c -o $@ $<

netc: $(BUILD)/compiler/main.o $(BUILD)/runtime/dist_mpi.o $(ONNX_OBJ) $(BUILD)/libnetc.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(if $(MPI_FOUND),$(MPI_LIBS)) $(if $(ONNX_FOUND),$(ONNX_LIBS))

$(BUILD)/tests/%: tests/%.c $(BUILD)/libnetc.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(shell pkg-config --cflags check 2>/dev/null) -o $@ $< $(BUILD)/libnetc.a $(CHECK_LIBS) $(LDLIBS)

# A test case's time limit is 60 s of wall time (check's default, 4 s, is
# hit by sub-second cases on a loaded machine); CK_DEFAULT_TIMEOUT
# overrides it.
# Every test binary and shell test is a target of its own, so that `make
# -j2 check` runs them side by side.  Each runs from the project root
# (golden files are found relative to it) with its output in
# $(BUILD)/check/NAME.log, printed whole when it ends (so outputs do not
# interleave), and a failure noted in NAME.failed rather than stopping the
# others: check then fails, naming them.  Each says how long it took.  cli.sh's `netc build` programs
# link build/libnetc.a, so they get the flags it was built with (a
# sanitizer build needs its runtime).
SHELL_TESTS = cli train_faults ckpt quantize data onnx fmt install embed mcu mpi emit_safety
FUZZERS     = spec checkpoint idx csv
TEST_RUNS   = $(TESTS:$(BUILD)/tests/%=run-%) $(SHELL_TESTS:%=run-%.sh) $(FUZZERS:%=run-replay_%)
.PHONY: $(TEST_RUNS)
$(filter run-test_%,$(TEST_RUNS)): run-%: $(BUILD)/tests/% netc
	@mkdir -p $(BUILD)/check; rm -f $(BUILD)/check/$*.failed; t0=$$(date +%s); \
	CK_DEFAULT_TIMEOUT=$${CK_DEFAULT_TIMEOUT:-60} CK_VERBOSITY=normal ./$(BUILD)/tests/$* >$(BUILD)/check/$*.log 2>&1 \
	    || echo $* >$(BUILD)/check/$*.failed; \
	echo "== $(BUILD)/tests/$* ($$(($$(date +%s) - t0)) s)"; cat $(BUILD)/check/$*.log
$(SHELL_TESTS:%=run-%.sh): run-%.sh: tests/%.sh netc $(BUILD)/libnetc.a $(BUILD)/editors/gen_syntax
	@mkdir -p $(BUILD)/check; rm -f $(BUILD)/check/$*.sh.failed; t0=$$(date +%s); \
	$(SH_TEST_ENV) CFLAGS='$(CFLAGS)' MAKE='$(MAKE)' sh tests/$*.sh ./netc >$(BUILD)/check/$*.sh.log 2>&1 \
	    || echo $*.sh >$(BUILD)/check/$*.sh.failed; \
	echo "== tests/$*.sh ($$(($$(date +%s) - t0)) s)"; cat $(BUILD)/check/$*.sh.log

# Each fuzz target replays its corpus (tests/fuzz/replay.c): the seeds and
# every input that once made it fail.
$(FUZZERS:%=$(BUILD)/replay/replay_%): $(BUILD)/replay/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c \
                                     tests/fuzz/fuzz_util.h $(BUILD)/libnetc.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ tests/fuzz/replay.c $< $(BUILD)/libnetc.a $(LDLIBS)
$(FUZZERS:%=run-replay_%): run-replay_%: $(BUILD)/replay/replay_%
	@mkdir -p $(BUILD)/check; rm -f $(BUILD)/check/replay_$*.failed; \
	./$(BUILD)/replay/replay_$* tests/fuzz/corpus/$*/* >$(BUILD)/check/replay_$*.log 2>&1 \
	    || echo replay_$* >$(BUILD)/check/replay_$*.failed; \
	echo "== $(BUILD)/replay/replay_$* tests/fuzz/corpus/$*"; cat $(BUILD)/check/replay_$*.log

check: $(TEST_RUNS)
	@failed=$$(cat $(TEST_RUNS:run-%=$(BUILD)/check/%.failed) 2>/dev/null | tr '\n' ' '); \
	if [ -n "$$failed" ]; then echo "make check: FAILED: $$failed"; exit 1; fi; \
	echo "make check: all $(words $(TEST_RUNS)) test programs passed"

# ---- other compilers, sanitizers, fuzzing ----------------------------------
#
# Each of these builds in a tree of its own under build/NAME: links to the
# sources and a build/ and netc of its own, so that its objects, library
# and tests never mix with the default build (and `netc build` there links
# that tree's library).  Everything at the top of the tree is linked but
# the build directory and the executable, so that a new directory is never
# missing there.
MIRROR = $(filter-out build netc,$(wildcard *))
define mirror
	@mkdir -p build/$(1) && for f in $(MIRROR); do ln -sfn ../../$$f build/$(1)/$$f; done
endef

# `make check` with clang.
check-clang:
	$(call mirror,clang)
	$(MAKE) -C build/clang CC=clang check

# `make check` under AddressSanitizer and UndefinedBehaviorSanitizer, with
# gcc and with clang: any report fails its test.
SAN_CFLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
# The instrumented tests run several times slower: their time limits too.
# netc itself initialises Open MPI, which leaks by design from plugins it
# unloads: tests/lsan.supp names them, and the shell tests, which run
# netc, unwind with the slow unwinder so that the suppressions see the
# frames past those plugins.
SAN_ENV    = ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 CK_TIMEOUT_MULTIPLIER=4 \
             LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0
SAN_SH_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:fast_unwind_on_malloc=0
check-asan: check-asan-gcc check-asan-clang
check-asan-gcc check-asan-clang: check-asan-%:
	$(call mirror,asan-$*)
	$(SAN_ENV) $(MAKE) -C build/asan-$* CC=$* CFLAGS='$(SAN_CFLAGS)' SH_TEST_ENV='$(SAN_SH_ENV)' check

# libFuzzer targets (tests/fuzz): the spec front end through explain and
# emit, the checkpoint loader, the IDX and the CSV reader.  `make fuzz`
# runs each for FUZZ_SECONDS from its committed seeds (tests/fuzz/corpus)
# and dictionary, keeping what it learns in build/fuzz/corpus; a crash, a
# sanitizer report, a hang of FUZZ_TIMEOUT seconds or FUZZ_RSS_MB of
# memory fails it, leaving the input as build/fuzz/crash-NAME-*.  Inputs
# up to FUZZ_MAX_LEN bytes, large enough for thousands of lets (the
# default of 4 KB reaches none of the time and size limits).
FUZZ_SECONDS = 60
FUZZ_TIMEOUT = 10
FUZZ_RSS_MB  = 2048
FUZZ_MAX_LEN = 1048576
FUZZ_CFLAGS  = -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
.PHONY: fuzz fuzz-build check-clang check-asan check-asan-gcc check-asan-clang
$(FUZZERS:%=$(BUILD)/fuzz/fuzz_%): $(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h $(BUILD)/libnetc.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/libnetc.a $(LDLIBS)
fuzz-build: $(FUZZERS:%=$(BUILD)/fuzz/fuzz_%)
fuzz:
	$(call mirror,fuzz)
	$(MAKE) -C build/fuzz CC=clang CFLAGS='$(FUZZ_CFLAGS)' fuzz-build
	@for f in $(FUZZERS); do \
	    mkdir -p build/fuzz/corpus/$$f; \
	    echo "== fuzz_$$f, $(FUZZ_SECONDS) s"; \
	    build/fuzz/build/fuzz/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -timeout=$(FUZZ_TIMEOUT) \
	        -rss_limit_mb=$(FUZZ_RSS_MB) -malloc_limit_mb=$(FUZZ_RSS_MB) -max_len=$(FUZZ_MAX_LEN) \
	        -dict=tests/fuzz/$$f.dict -artifact_prefix=build/fuzz/crash-$$f- -print_final_stats=1 \
	        build/fuzz/corpus/$$f tests/fuzz/corpus/$$f >build/fuzz/$$f.log 2>&1 \
	        || { tail -40 build/fuzz/$$f.log; echo "fuzz_$$f failed: the input is build/fuzz/crash-$$f-*"; exit 1; }; \
	    grep -E '^stat::number_of_executed_units|^Done' build/fuzz/$$f.log; \
	done

# The editor files and netc.net(5)'s name lists, written from the catalog
# (editors/gen_syntax.c) whenever it changes, so they never go stale;
# committed so that editors and packagers need no build.  tests/install.sh
# checks they are up to date.
$(BUILD)/editors/gen_syntax: editors/gen_syntax.c $(BUILD)/libnetc.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libnetc.a $(LDLIBS)
$(SYNTAX_FILES) &: $(BUILD)/editors/gen_syntax man/netc.net.5.in
	$(BUILD)/editors/gen_syntax $(word 1,$(SYNTAX_FILES)) $(word 2,$(SYNTAX_FILES)) man/netc.net.5.in $(word 3,$(SYNTAX_FILES))
syntax: $(SYNTAX_FILES)

# `make install`: netc, the library and headers `netc build` programs
# compile against (found from the executable's place, PREFIX/bin/netc ->
# PREFIX/lib/netc, so a staged or relocated tree works too), the example
# specs, the man pages and bash completion.  INSTALL_FILES lists every file
# installed, relative to PREFIX, so that uninstall removes exactly those.
PREFIX  ?= /usr/local
DESTDIR ?=
INSTALL ?= install
INC_HEADERS = $(wildcard grammar/*.h compiler/*.h runtime/*.h compiler/*.def)
INSTALL_FILES = bin/netc lib/netc/libnetc.a \
    $(INC_HEADERS:%=include/netc/%) include/netc/grammar/parser.h include/netc/grammar/lexer.h \
    $(patsubst %,share/netc/%,$(wildcard specs/*.net)) \
    share/man/man1/netc.1 share/man/man5/netc.net.5 share/bash-completion/completions/netc \
    share/vim/vimfiles/syntax/netc.vim share/vim/vimfiles/ftdetect/netc.vim share/netc/editors/netc.tmLanguage.json
install: netc $(BUILD)/libnetc.a $(SYNTAX_FILES)
	@set -e; d='$(DESTDIR)$(PREFIX)'; \
	$(INSTALL) -d "$$d/bin" "$$d/lib/netc" "$$d/include/netc/grammar" "$$d/include/netc/compiler" \
	    "$$d/include/netc/runtime" "$$d/share/netc/specs" "$$d/share/man/man1" "$$d/share/man/man5" \
	    "$$d/share/bash-completion/completions" "$$d/share/vim/vimfiles/syntax" "$$d/share/vim/vimfiles/ftdetect" \
	    "$$d/share/netc/editors"; \
	$(INSTALL) -m 755 netc "$$d/bin/netc"; \
	$(INSTALL) -m 644 $(BUILD)/libnetc.a "$$d/lib/netc/libnetc.a"; \
	for h in $(INC_HEADERS); do $(INSTALL) -m 644 "$$h" "$$d/include/netc/$$h"; done; \
	$(INSTALL) -m 644 $(BUILD)/grammar/parser.h $(BUILD)/grammar/lexer.h "$$d/include/netc/grammar/"; \
	$(INSTALL) -m 644 specs/*.net "$$d/share/netc/specs/"; \
	$(INSTALL) -m 644 man/netc.1 "$$d/share/man/man1/netc.1"; \
	$(INSTALL) -m 644 man/netc.net.5 "$$d/share/man/man5/netc.net.5"; \
	$(INSTALL) -m 644 completion/netc.bash "$$d/share/bash-completion/completions/netc"; \
	$(INSTALL) -m 644 editors/vim/syntax/netc.vim "$$d/share/vim/vimfiles/syntax/netc.vim"; \
	$(INSTALL) -m 644 editors/vim/ftdetect/netc.vim "$$d/share/vim/vimfiles/ftdetect/netc.vim"; \
	$(INSTALL) -m 644 editors/textmate/netc.tmLanguage.json "$$d/share/netc/editors/netc.tmLanguage.json"; \
	echo "installed netc into $$d"

uninstall:
	@d='$(DESTDIR)$(PREFIX)'; \
	for f in $(INSTALL_FILES); do rm -f "$$d/$$f"; done; \
	for dir in include/netc/grammar include/netc/compiler include/netc/runtime include/netc lib/netc \
	    share/netc/specs share/netc/editors share/netc; do rmdir "$$d/$$dir" 2>/dev/null || true; done; \
	echo "removed netc from $$d"

deps:
	@sh scripts/install-deps.sh

demo: deps
	$(MAKE) netc
	./netc train specs/mnist_mlp_default.net --save build/mnist_mlp_default.safetensors

bench: netc
	sh bench/run.sh
	sh bench/mpi.sh

# The convolution kernels against torch's F.conv2d, one thread each, on the
# shapes of docs/performance.md (bench/conv_shapes.c, a timing program, not
# a test).
$(BUILD)/bench/conv_shapes: bench/conv_shapes.c $(BUILD)/libnetc.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libnetc.a $(LDLIBS)

bench-conv: $(BUILD)/bench/conv_shapes
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 ./$(BUILD)/bench/conv_shapes
	@test -n "$(TORCH_PY)" || { echo "(no python3-torch: netc only)"; exit 0; }; \
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(TORCH_PY) bench/torch_conv_shapes.py

# Regenerate the PyTorch golden files (needs python3-torch; CI does not):
# every scripts/gen_golden*.py writes its own files into tests/golden.
# The first python3 on PATH may lack torch (a virtualenv, say): fall back
# to the system interpreter, where Debian's python3-torch installs.
golden:
	@py=python3; \
	if ! python3 -c 'import torch' >/dev/null 2>&1; then py=/usr/bin/python3; fi; \
	for g in scripts/gen_golden*.py; do \
	    echo "$$py $$g tests/golden"; $$py $$g tests/golden || exit 1; \
	done

clean:
	rm -rf $(BUILD) netc

# A Python that has torch (Debian's python3-torch installs for the system
# Python, which may not be the first python3 on PATH).
TORCH_PY = $(shell for p in python3 /usr/bin/python3; do $$p -c 'import torch' 2>/dev/null && echo $$p && break; done)

# Load checkpoints of the demo MLP and of the two CNNs (one epoch each on
# the bundled digits) into torch's nn.Sequential with strict=True and check
# it predicts what netc does on the test set; then load a torch state_dict
# of fashion_cnn (int64 num_batches_tracked and all) into netc the same way
# (needs python3-torch).
torch-check: netc
	@test -n "$(TORCH_PY)" || { echo "torch-check needs python3-torch"; exit 1; }
	./netc train specs/mnist_mlp_default.net --save build/mnist_mlp_default.safetensors
	$(TORCH_PY) scripts/torch_check.py ./netc specs/mnist_mlp_default.net build/mnist_mlp_default.safetensors data/mnist-10k
	for s in lenet5 fashion_cnn; do \
	    ./netc train specs/$$s.net --data data/mnist-10k --epochs 1 --save build/$$s.safetensors && \
	    $(TORCH_PY) scripts/torch_check.py ./netc specs/$$s.net build/$$s.safetensors data/mnist-10k || exit 1; \
	done
	$(TORCH_PY) scripts/torch_check.py --from-torch ./netc specs/fashion_cnn.net data/mnist-10k
