# netc — build, test, demo and benchmark.
#
#   make          build ./netc
#   make check    build and run every unit test (check framework)
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
LIB_SRC = $(wildcard grammar/*.c compiler/*.c runtime/*.c)
LIB_SRC := $(filter-out compiler/main.c runtime/dist_mpi.c,$(LIB_SRC))
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
# call, which costs more than the copy.
$(BUILD)/runtime/conv_unfold.o: CFLAGS += -fno-tree-loop-distribute-patterns
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

netc: $(BUILD)/compiler/main.o $(BUILD)/runtime/dist_mpi.o $(BUILD)/libnetc.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(if $(MPI_FOUND),$(MPI_LIBS))

$(BUILD)/tests/%: tests/%.c $(BUILD)/libnetc.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(shell pkg-config --cflags check 2>/dev/null) -o $@ $< $(BUILD)/libnetc.a $(CHECK_LIBS) $(LDLIBS)

# Every test binary runs from the project root (golden files are found
# relative to it); the target fails if any test fails.  cli.sh's `netc
# build` programs link build/libnetc.a, so they get the flags it was built
# with (a sanitizer build needs its runtime).
check: netc $(TESTS) $(BUILD)/editors/gen_syntax
	@status=0; for t in $(TESTS); do \
	    echo "== $$t"; CK_VERBOSITY=normal ./$$t || status=1; \
	done; \
	CFLAGS='$(CFLAGS)' sh tests/cli.sh ./netc || status=1; \
	sh tests/embed.sh ./netc || status=1; \
	sh tests/mcu.sh ./netc || status=1; \
	sh tests/mpi.sh ./netc || status=1; \
	sh tests/fmt.sh ./netc || status=1; \
	MAKE='$(MAKE)' sh tests/install.sh ./netc || status=1; \
	exit $$status

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
