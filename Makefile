# Top-level wrapper: `make run` and `make test` are all a new user needs.
# CMake + CTest do the work underneath; missing Debian packages are installed
# first (apt-get, only when missing).

BUILD    ?= build
ASAN     ?= build-asan
TSAN     ?= build-tsan
PREFIX   ?= /usr/local
JOBS     ?= $(shell nproc)
GEN      := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")
CTEST    := ctest --output-on-failure -j $(JOBS)

DEB_PKGS := cmake gcc gcc-multilib make pkg-config libssl-dev zlib1g-dev libcmocka-dev \
            python3-cryptography-vectors mandoc gnuplot-nox python3-scapy
# ocf-ipsecd: its namespace tests and `ocf bench --tunnel`
DEB_PKGS += iproute2 iputils-ping tcpdump tshark iperf3

.PHONY: all deps build run test test-release sanitize tsan install bench clean format

all: build

deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

build: deps
	cmake -S . -B $(BUILD) $(GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX)
	cmake --build $(BUILD) -j $(JOBS)

# The main job: a short benchmark of the software producer, framework vs
# direct OpenSSL, over the paper's buffer sizes.
run: build
	./$(BUILD)/ocf bench --seconds 0.25

bench: build
	./$(BUILD)/ocf bench

test-release: build
	cd $(BUILD) && $(CTEST)

sanitize: deps
	cmake -S . -B $(ASAN) $(GEN) -DCMAKE_BUILD_TYPE=Debug -DOCF_SANITIZE=ON
	cmake --build $(ASAN) -j $(JOBS)
	cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 OCF_TEST_SCALE=4 $(CTEST)

tsan: deps
	cmake -S . -B $(TSAN) $(GEN) -DCMAKE_BUILD_TYPE=Debug -DOCF_TSAN=ON
	cmake --build $(TSAN) -j $(JOBS)
	cd $(TSAN) && TSAN_OPTIONS=halt_on_error=1 OCF_TEST_SCALE=8 $(CTEST)

# The whole suite: release build, then the ASan+UBSan build.
test: test-release sanitize

install: build
	cmake --install $(BUILD)
	cmake --install $(BUILD) --component ocfprov

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN) $(TSAN)
