# Convenience entry points: `make run` and `make check` work on a fresh
# Debian 12 machine as root (they install what is missing first).

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_DEB  ?= build-deb
JOBS       ?= 2
CONF       ?= conf/sbc.conf

# What building and running a standalone node needs ...
DEPS = build-essential cmake pkg-config libre-dev libssl-dev openssl \
       libcmocka-dev libsrtp2-dev libcpg-dev libquorum-dev libhiredis-dev tzdata \
       ca-certificates
# ... and what the tests drive: the far ends, the registrar, the cluster
# lab's Corosync (never started as a service: the lab runs it in its own
# namespaces) and its two-node tie-breaker (corosync-qdevice in the nodes,
# corosync-qnetd in a third namespace: t_qdevice), the Pacemaker resource
# agent ra/sbcd (ocf-shellfuncs of resource-agents; sipp for its OPTIONS
# probe, which a cluster node needs too), ocf-tester's meta-data check
# (xmllint) and the agent's lint, and the drills' Pacemaker and pcs (run
# in the lab's namespaces only), and the lab's hosts for Ansible (t_hosts:
# an sshd per node, started in the node's namespaces only; ansible-core
# run from the client namespace; python3-apt for Ansible's apt module in
# the nodes, which have the machine's packages and no mirror to fetch it;
# ansible-lint for the role's lint in t_ansible), and Prometheus, whose
# server scrapes sbcd's metrics in it_metrics (started by the test on a
# loopback address, never as the host's service) and whose promtool
# checks the page.
TEST_DEPS = $(DEPS) sip-tester resource-agents kamailio kamailio-tls-modules iproute2 \
       procps util-linux python3 sipvicious corosync corosync-qdevice \
       corosync-qnetd iputils-arping libxml2-utils shellcheck pacemaker pcs \
       redis-server redis-sentinel openssh-server ansible-core python3-apt \
       ansible-lint prometheus
# ... and what `make deb` needs: dpkg-shlibdeps and dpkg-buildflags
# (dpkg-dev), file (CPack's ELF detection), lintian. The package test
# (label deb) needs them too.
DEB_DEPS = dpkg-dev file lintian
TEST_DEPS += $(DEB_DEPS)
# Services the cluster and Prometheus packages enable at install on a
# systemd host; the tests run them in their own namespaces or on their own
# loopback addresses, never as the host's services.
# Stopped only when this install brought them (an operator's running
# cluster is left alone).
LAB_SERVICES = corosync:corosync pacemaker:pacemaker pcsd:pcs \
       corosync-qdevice:corosync-qdevice corosync-qnetd:corosync-qnetd \
       redis-server:redis-server redis-sentinel:redis-sentinel ssh:openssh-server \
       prometheus:prometheus prometheus-node-exporter:prometheus

.PHONY: all deps test-deps deb-deps build asan deb run check check-fast bench bench-media bench-pair clean

all: build

deps test-deps deb-deps:
	@missing=""; for p in $(if $(filter test-deps,$@),$(TEST_DEPS),$(if $(filter deb-deps,$@),$(DEPS) $(DEB_DEPS),$(DEPS))); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "run as root to install:$$missing" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing || exit 1; \
	  if [ -d /run/systemd/system ]; then \
	    for us in $(LAB_SERVICES); do \
	      case " $$missing " in *" $${us#*:} "*) systemctl disable --now $${us%%:*} 2>/dev/null || true ;; esac; \
	    done; \
	  fi; \
	fi

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

asan: deps
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DSBC_SANITIZE=ON >/dev/null
	cmake --build $(BUILD_ASAN) -j$(JOBS)

# The Debian package sbc_VERSION-REVISION_ARCH.deb in $(BUILD_DEB)
# (pkg/deb.cmake; README "Debian package"): built apart from the
# development trees, with Debian's hardening flags (dpkg-buildflags,
# hardening=+all) and without the tests; lintian fails it on an error.
deb: deb-deps
	export DEB_BUILD_MAINT_OPTIONS=hardening=+all; \
	cmake -S . -B $(BUILD_DEB) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSBC_TESTS=OFF \
	  -DCMAKE_C_FLAGS="$$(dpkg-buildflags --get CFLAGS) $$(dpkg-buildflags --get CPPFLAGS)" \
	  -DCMAKE_EXE_LINKER_FLAGS="$$(dpkg-buildflags --get LDFLAGS)" >/dev/null
	cmake --build $(BUILD_DEB) -j$(JOBS)
	rm -f $(BUILD_DEB)/sbc_*.deb
	cd $(BUILD_DEB) && cpack -G DEB
	lintian --fail-on error $(BUILD_DEB)/sbc_*.deb

run: build
	@sh conf/mkcert.sh conf/tls
	./$(BUILD)/sbcd -f $(CONF)

# Every test twice: the release build, then the ASan+UBSan build.
check: test-deps build asan
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j$(JOBS) -LE nosan

check-fast: test-deps build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

bench: test-deps build
	bench/cps.sh

# The media benchmark: sbcd, rtpengine (installed by the script if missing,
# as root) and a raw forwarder; not part of check.
bench-media: test-deps build
	bash bench/media.sh

# The pair benchmark: what the active/standby pair (cluster = corosync)
# costs against a standalone sbcd, in the cluster lab (root: network
# namespaces); not part of check.
bench-pair: test-deps build
	bash bench/pair.sh

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_DEB)
