# Thin front end over CMake.  The first two targets are the ones a new user
# needs:  `make run` (build and serve conf/rpc.ini on 127.0.0.1:5000) and
# `make test` (every test, plain and under ASan+UBSan).  Both install
# missing Debian packages first (as root; otherwise they say what to run).

BUILD      ?= build
ASAN_BUILD ?= build-asan
CONFIG     ?= conf/rpc.ini
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

.PHONY: all run test build deps test-deps deb-deps deb bench install format \
        format-check test-plain test-asan test-valgrind test-fuzz clean

all: build

deps:
	@sh tools/deps.sh build

test-deps:
	@sh tools/deps.sh test

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)
	cmake --build $(BUILD) -j $(JOBS)

run: build
	./$(BUILD)/rpchost -c $(CONFIG)

# The sanitizer build's ctest summary comes last, as the run's closing line.
test: test-deps format-check test-plain test-valgrind test-fuzz test-asan

test-plain: test-deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j 2

test-asan: test-deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DRPCHOST_SANITIZE=ON $(CMAKE_ARGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest --output-on-failure -j 2

# The integration suite's core once more under valgrind (leaks, invalid
# accesses); about a minute.
test-valgrind: test-plain
	cd tests/integration && RPCHOST_VALGRIND=1 \
	    RPCHOST_BIN=$(CURDIR)/$(BUILD)/rpchost \
	    RPCHOST_PLUGINS=$(CURDIR)/$(BUILD)/plugins \
	    RPCHOST_FIXTURES=$(CURDIR)/$(BUILD)/tests/plugins \
	    RPCHOST_SRC=$(CURDIR) RPCHOST_BUILD=$(CURDIR)/$(BUILD) \
	    PYTHONDONTWRITEBYTECODE=1 \
	    python3 -m unittest test_jsonrpc test_reload test_nginx test_chunked

# libFuzzer on the envelope/dispatch and the config parser, FUZZ_SECONDS
# each (clang; its own build in build-fuzz).
FUZZ_SECONDS ?= 60
test-fuzz: test-deps
	sh tests/fuzz/run.sh $(FUZZ_SECONDS)

bench: build
	@sh tools/deps.sh bench
	sh bench/run.sh $(BUILD)

# PREFIX is given to CMake when configuring, not only when installing:
# GNUInstallDirs then picks the FHS paths for it (for /usr: configs in
# /etc/rpchost, libraries and plugins in /usr/lib/<multiarch>), and the
# default config path compiled into rpchost is the installed rpc.ini.
# So installing builds in a folder of its own, $(INSTALL_BUILD), never
# in $(BUILD): `make build` and `make run` go on producing the same binary
# whatever was installed.  Each install configures it with its PREFIX
# (/usr/local when none is given), so no earlier PREFIX sticks.
INSTALL_BUILD ?= build-install
install: deps
	cmake -S . -B $(INSTALL_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DRPCHOST_TESTS=OFF \
	    -DCMAKE_INSTALL_PREFIX=$(if $(PREFIX),$(PREFIX),/usr/local) \
	    $(CMAKE_ARGS)
	cmake --build $(INSTALL_BUILD) -j $(JOBS)
	cmake --install $(INSTALL_BUILD)

# Debian packages from debian/ (dpkg-buildpackage on a copy of the tree,
# in $(DEB_BUILD)); see README, "Install from the packages".
DEB_BUILD ?= build-deb
deb-deps:
	@sh tools/deps.sh deb

deb: deb-deps
	JOBS=$(JOBS) sh tools/deb.sh $(DEB_BUILD)

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)

format:
	clang-format -i $(FORMAT_FILES)

format-check: test-deps
	@clang-format --dry-run -Werror $(FORMAT_FILES) && echo "clang-format: clean"

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz $(DEB_BUILD) $(INSTALL_BUILD)
