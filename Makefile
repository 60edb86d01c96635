# SPDX-License-Identifier: GPL-2.0
#
# xen-zcopy: top-level build.
#
#   make             build the module, libxenzcopy, the tests and the tools
#   make lib         libxenzcopy (build/lib: .so.0, .a, xenzcopy.pc)
#   make lib-test    libxenzcopy's unit tests against a fake driver (no Xen)
#   make domu-agent  the static agent the testbed's DomU runs
#   make check       boot the QEMU+Xen testbed and run the whole test suite,
#                    on x86 PV and then on arm64 (TESTBED_ARM64=0: x86 only)
#   make check-arm64 the suite on arm64 only (auto-translated Dom0, QEMU virt)
#   make check-debug the x86 PV suite (DomU included) on a debug kernel built
#                    from linux-source-6.1 (lockdep, kmemleak, DEBUG_OBJECTS,
#                    DEBUG_LIST, KFENCE, SLUB debug, page poisoning;
#                    tools/testbed/debug-kernel.sh, cached in build/); never
#                    part of make check (TESTS=GLOB selects tests)
#   make demo        boot the testbed and show a frame going zero-copy to vkms
#   make bench       benchmark setup, per-flip and scale costs on x86 PV and
#                    arm64 (build/bench/: CSV, PNG chart, table); never part
#                    of make check
#   make mutate      the suite against each deliberately broken driver of
#                    igt-tests/mutants/ (MUTANTS=GLOB, MUTATE_ARCHS="amd64
#                    arm64", MUTATE_FULL=1); never part of make check
#   make lint        checkpatch --strict, W=1 and sparse on the driver (x86 and arm64)
#   make arm64       cross-build the module for Debian's arm64 6.1 kernel
#   make dkms-install  the module's source into /usr/src/xen-zcopy-VERSION
#                    and dkms add/build/install (KVER=, default: running)
#   make dkms-check  dkms build against the testbed's Debian headers,
#                    in build/dkms (nothing installed but Debian's dkms)
#   make deb         Debian packages (xen-zcopy-dkms, libxenzcopy0,
#                    libxenzcopy-dev) into build/deb, checked by lintian
#   make install     install the module, the UAPI header, the udev rule and
#                    libxenzcopy (PREFIX=/usr/local, LIBDIR=PREFIX/lib)

TOP := $(CURDIR)
BUILD := $(TOP)/build
DRV := $(TOP)/drivers/gpu/drm/xen
# The version of the module's source: dkms.conf's.
VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' $(TOP)/dkms.conf)
DKMS_SRC ?= $(DESTDIR)/usr/src/xen-zcopy-$(VERSION)

# The kernel to build against: the running kernel's build tree when it has
# one, else the newest Debian 6.1 amd64 headers (what the testbed installs).
KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
		    $(shell ls -d /usr/src/linux-headers-6.1.*-amd64 2>/dev/null | sort -V | tail -n 1))

.PHONY: all module lib lib-test tests tools domu-agent check check-arm64 check-debug demo bench mutate lint \
	arm64 install install-lib dkms-source dkms-install dkms-check deb clean help

all: module lib tests tools domu-agent

module:
	@if [ -z "$(KDIR)" ] || [ ! -f "$(KDIR)/Makefile" ]; then \
		echo "error: no kernel build tree (KDIR='$(KDIR)'): install linux-headers-\$$(uname -r), pass KDIR=..., or run 'make check' which installs them" >&2; \
		exit 1; fi
	@echo "  MODULE  xen_drm_zcopy.ko against $(KDIR)"
	$(MAKE) -C $(KDIR) M=$(DRV) modules

lib:
	@echo "  LIB     lib -> $(BUILD)/lib"
	$(MAKE) -C lib BUILD=$(BUILD)/lib

lib-test:
	@$(MAKE) --no-print-directory -C lib BUILD=$(BUILD)/lib test

tests: lib
	@echo "  TESTS   igt-tests -> $(BUILD)/igt-tests"
	$(MAKE) -C igt-tests BUILD=$(BUILD)/igt-tests XZC_LIB=$(BUILD)/lib

tools: lib
	@echo "  TOOLS   tools -> $(BUILD)/tools"
	$(MAKE) -C tools BUILD=$(BUILD)/tools XZC_LIB=$(BUILD)/lib

domu-agent:
	@echo "  AGENT   tools/domu-agent -> $(BUILD)/domu"
	$(MAKE) -C tools/domu-agent BUILD=$(BUILD)/domu

check:
	bash tools/testbed/testbed.sh check-all

check-arm64:
	bash tools/testbed/testbed.sh check-arm64

check-debug:
	TESTBED_KERNEL=debug bash tools/testbed/testbed.sh check

demo:
	bash tools/testbed/testbed.sh demo

bench:
	bash tools/testbed/testbed.sh bench-all

mutate:
	bash tools/mutate.sh

lint:
	bash tools/lint.sh

arm64:
	bash tools/arm64.sh

install: module install-lib
	$(MAKE) -C $(KDIR) M=$(DRV) modules_install
	install -D -m 0644 include/uapi/drm/xen_zcopy_drm.h \
		$(DESTDIR)/usr/include/drm/xen_zcopy_drm.h
	install -D -m 0644 tools/udev/72-xen-zcopy.rules \
		$(DESTDIR)/etc/udev/rules.d/72-xen-zcopy.rules
	depmod -a $(notdir $(patsubst %/build,%,$(KDIR))) 2>/dev/null || true

install-lib:
	$(MAKE) -C lib BUILD=$(BUILD)/lib install

# What DKMS builds the module from (also the xen-zcopy-dkms package's).
dkms-source:
	install -d $(DKMS_SRC)/drivers/gpu/drm/xen $(DKMS_SRC)/include/uapi/drm
	install -m 0644 dkms.conf $(DKMS_SRC)/
	install -m 0644 $(DRV)/Kbuild $(filter-out %.mod.c,$(wildcard $(DRV)/*.c)) \
		$(wildcard $(DRV)/*.h) $(DKMS_SRC)/drivers/gpu/drm/xen/
	install -m 0644 include/uapi/drm/xen_zcopy_drm.h $(DKMS_SRC)/include/uapi/drm/

dkms-install:
	-dkms remove -m xen-zcopy -v $(VERSION) --all 2>/dev/null
	rm -rf $(DKMS_SRC)
	$(MAKE) dkms-source
	dkms add -m xen-zcopy -v $(VERSION)
	dkms build -m xen-zcopy -v $(VERSION) $(if $(KVER),-k $(KVER))
	dkms install -m xen-zcopy -v $(VERSION) $(if $(KVER),-k $(KVER))

dkms-check:
	bash tools/dkms-check.sh

deb:
	bash tools/deb.sh

clean:
	-[ -n "$(KDIR)" ] && [ -f "$(KDIR)/Makefile" ] && $(MAKE) -C $(KDIR) M=$(DRV) clean
	rm -rf $(BUILD)/igt-tests $(BUILD)/tools $(BUILD)/domu $(BUILD)/lib $(BUILD)/dkms $(BUILD)/deb

help:
	@sed -n 's/^#   //p' Makefile
