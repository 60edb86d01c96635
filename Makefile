# SPDX-License-Identifier: GPL-2.0
#
# xen-zcopy: top-level build.
#
#   make             build the module, the tests and the tools
#   make domu-agent  the static agent the testbed's DomU runs
#   make check       boot the QEMU+Xen testbed and run the whole test suite,
#                    on x86 PV and then on arm64 (TESTBED_ARM64=0: x86 only)
#   make check-arm64 the suite on arm64 only (auto-translated Dom0, QEMU virt)
#   make demo        boot the testbed and show a frame going zero-copy to vkms
#   make bench       benchmark setup, per-flip and scale costs on x86 PV and
#                    arm64 (build/bench/: CSV, PNG chart, table); never part
#                    of make check
#   make lint        checkpatch --strict, W=1 and sparse on the driver (x86 and arm64)
#   make arm64       cross-build the module for Debian's arm64 6.1 kernel
#   make install     install the module, the UAPI header and the udev rule

TOP := $(CURDIR)
BUILD := $(TOP)/build
DRV := $(TOP)/drivers/gpu/drm/xen

# The kernel to build against: the running kernel's build tree when it has
# one, else the newest Debian 6.1 amd64 headers (what the testbed installs).
KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
		    $(shell ls -d /usr/src/linux-headers-6.1.*-amd64 2>/dev/null | sort -V | tail -n 1))

.PHONY: all module tests tools domu-agent check check-arm64 demo bench lint arm64 install clean help

all: module tests tools domu-agent

module:
	@if [ -z "$(KDIR)" ] || [ ! -f "$(KDIR)/Makefile" ]; then \
		echo "error: no kernel build tree (KDIR='$(KDIR)'): install linux-headers-\$$(uname -r), pass KDIR=..., or run 'make check' which installs them" >&2; \
		exit 1; fi
	@echo "  MODULE  xen_drm_zcopy.ko against $(KDIR)"
	$(MAKE) -C $(KDIR) M=$(DRV) modules

tests:
	@echo "  TESTS   igt-tests -> $(BUILD)/igt-tests"
	$(MAKE) -C igt-tests BUILD=$(BUILD)/igt-tests

tools:
	@echo "  TOOLS   tools -> $(BUILD)/tools"
	$(MAKE) -C tools BUILD=$(BUILD)/tools

domu-agent:
	@echo "  AGENT   tools/domu-agent -> $(BUILD)/domu"
	$(MAKE) -C tools/domu-agent BUILD=$(BUILD)/domu

check:
	bash tools/testbed/testbed.sh check-all

check-arm64:
	bash tools/testbed/testbed.sh check-arm64

demo:
	bash tools/testbed/testbed.sh demo

bench:
	bash tools/testbed/testbed.sh bench-all

lint:
	bash tools/lint.sh

arm64:
	bash tools/arm64.sh

install: module
	$(MAKE) -C $(KDIR) M=$(DRV) modules_install
	install -D -m 0644 include/uapi/drm/xen_zcopy_drm.h \
		$(DESTDIR)/usr/include/drm/xen_zcopy_drm.h
	install -D -m 0644 tools/udev/72-xen-zcopy.rules \
		$(DESTDIR)/etc/udev/rules.d/72-xen-zcopy.rules
	depmod -a $(notdir $(patsubst %/build,%,$(KDIR))) 2>/dev/null || true

clean:
	-[ -n "$(KDIR)" ] && [ -f "$(KDIR)/Makefile" ] && $(MAKE) -C $(KDIR) M=$(DRV) clean
	rm -rf $(BUILD)/igt-tests $(BUILD)/tools $(BUILD)/domu

help:
	@sed -n 's/^#   //p' Makefile
