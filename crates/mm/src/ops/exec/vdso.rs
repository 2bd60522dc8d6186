//! The vDSO: the kernel's code and data pages every process gets, mapped as one top-down
//! allocation right after the program and its interpreter (map_vdso), so it lands directly
//! below the interpreter, or below mmap_base for a static program.

use crate::flags::VmFlags;
use crate::kernel::Kernel;
use crate::layout::*;
use crate::mm_table::MmId;
use crate::ops::fault::{FaultError, FaultInfo, FaultOutcome, Mapped, RssDelta};
use crate::vma::{Special, Vma};
use abi::SysResult;

/// How many pages each part of the vDSO has on the modelled kernel. Linux 6.18 on x86-64
/// has four data pages (`[vvar]`: time, time namespace, getrandom, architecture data), two
/// clock pages (`[vvar_vclock]`: pvclock and Hyper-V) and two code pages (`[vdso]`); other
/// kernels differ, so this is measured from the host where it matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VdsoLayout {
    /// Pages of `[vvar]`.
    pub vvar_pages: u64,
    /// Pages of `[vvar_vclock]` (0 on kernels that do not split it out).
    pub vvar_vclock_pages: u64,
    /// Pages of `[vdso]`.
    pub vdso_pages: u64,
    /// The data pages with nothing behind them, as a bit set over the pages of `[vvar]`
    /// followed by those of `[vvar_vclock]` (bit 0 is the first page of `[vvar]`). Their
    /// fault handlers give SIGBUS, so a load faults with SIGBUS and a kernel copy gives
    /// EFAULT.
    pub unbacked: u64,
}

/// Where `__kernel_vsyscall`, the system-call entry of the 32-bit vDSO that AT_SYSINFO
/// points to, lies in the image of the modelled kernel (Linux 6.18 x86-64; measured with
/// `LD_SHOW_AUXV=1` on a `gcc -m32` program: AT_SYSINFO − AT_SYSINFO_EHDR).
pub const VDSO32_SYSINFO_OFFSET: u64 = 0x5e0;

/// Where `__kernel_vsyscall` lies in the vDSO of Debian's 6.1 686 and 686-pae kernels
/// (tests/golden/i386/*/cat-self-auxv.txt: AT_SYSINFO 0xb7ffe550, AT_SYSINFO_EHDR 0xb7ffe000).
pub const I386_LINUX_6_1_SYSINFO_OFFSET: u64 = 0x550;

/// The data pages without backing on the modelled machine (Linux 6.18, a KVM guest outside
/// any time namespace), measured: the time-namespace page and the architecture page of
/// `[vvar]`, and the Hyper-V clock page of `[vvar_vclock]`; the pvclock page is there.
pub const UNBACKED_VDSO_DATA: u64 = 1 << 1 | 1 << 3 | 1 << 5;

impl Default for VdsoLayout {
    fn default() -> Self {
        VdsoLayout { vvar_pages: 4, vvar_vclock_pages: 2, vdso_pages: 2, unbacked: UNBACKED_VDSO_DATA }
    }
}

impl VdsoLayout {
    /// The vDSO of Debian's 6.1 686 and 686-pae kernels (tests/golden/i386: `[vvar]`
    /// b7ffa000-b7ffe000, `[vdso]` b7ffe000-b8000000): the data pages are the vvar page, the
    /// HPET page, the pvclock page and the Hyper-V page, of which only the first is assumed
    /// backed (the guest, under TCG, has neither kvm-clock nor Hyper-V; the HPET page is
    /// mapped only once the vDSO has used the HPET clock: not measured).
    pub const I386_LINUX_6_1: VdsoLayout =
        VdsoLayout { vvar_pages: 4, vvar_vclock_pages: 0, vdso_pages: 2, unbacked: 1 << 1 | 1 << 2 | 1 << 3 };

    /// Total size in bytes.
    pub fn len(&self) -> u64 {
        (self.vvar_pages + self.vvar_vclock_pages + self.vdso_pages) * PAGE_SIZE
    }

    /// Whether the layout has no pages at all (no vDSO).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Kernel {
    /// Whether the page at `va` of the special mapping `vma` is a data page with nothing
    /// behind it (its fault gives SIGBUS).
    pub(crate) fn vdso_page_unbacked(&self, vma: &Vma, va: u64) -> bool {
        let layout = &self.m.config.vdso;
        let index = (va - vma.start) >> PAGE_SHIFT;
        let bit = match vma.special {
            Some(Special::Vvar) => index,
            Some(Special::VvarVclock) => layout.vvar_pages + index,
            _ => return false,
        };
        bit < 64 && layout.unbacked & (1 << bit) != 0
    }

    /// The file holding the vDSO image (the compat `vdso32` one for an ia32 compat
    /// process), made on first use; `None` without an image.
    fn vdso_file(&mut self, compat: bool) -> Option<crate::file::FileId> {
        let made = if compat { self.m.vdso32_file } else { self.m.vdso_file };
        if let Some(f) = made {
            return Some(f);
        }
        let image = if compat { self.m.config.vdso32_image.clone()? } else { self.m.config.vdso_image.clone()? };
        let ino = self.m.new_ino();
        let f = self.m.add_file(crate::file::File {
            size: image.len() as u64,
            source: Some(crate::file::Source::bytes(image)),
            // The kernel holds it for good.
            opens: 1,
            always_deleted: true,
            ..crate::file::File::new("[vdso]".into(), (0, 0), ino, crate::file::FileKind::Regular)
        });
        if compat {
            self.m.vdso32_file = Some(f);
        } else {
            self.m.vdso_file = Some(f);
        }
        Some(f)
    }

    /// A fault on a page of `[vdso]` with an image: the image's page is mapped (the special
    /// mapping's fault handler; no fault-around). Returns `None` without an image.
    pub(crate) fn vdso_fault(&mut self, f: &FaultInfo) -> Result<Option<FaultOutcome>, FaultError> {
        let vma = f.vma;
        if vma.special != Some(Special::Vdso) {
            return Ok(None);
        }
        let compat = self.mms[f.id].space.abi == crate::space::Abi::Ia32Compat;
        let Some(file) = self.vdso_file(compat) else { return Ok(None) };
        let index = (f.va - vma.start) >> PAGE_SHIFT;
        if index >= self.m.file(file).size_pages() {
            return Err(FaultError::Bus);
        }
        let (pfn, major) = self.m.cache_page_read(file, index).ok_or(FaultError::Oom)?;
        self.m.frames.get(pfn);
        let kind = self.map_special_page(f.id, vma, f.va, pfn)?;
        Ok(Some(FaultOutcome::new(major, Mapped::Special, RssDelta::one(kind))))
    }

    /// map_vdso: places the vDSO with no hint and returns the address of its code (what
    /// AT_SYSINFO_EHDR reports).
    pub(crate) fn map_vdso(&mut self, id: MmId, layout: VdsoLayout) -> SysResult<u64> {
        let len = layout.len();
        let base = self.get_unmapped_area(id, None, 0, len, 0, 0, false)?;
        self.link_vdso(id, layout, base)
    }

    /// Links the vDSO's VMAs at `base` (its data pages first); returns the code's address.
    pub(crate) fn link_vdso(&mut self, id: MmId, layout: VdsoLayout, base: u64) -> SysResult<u64> {
        let data =
            VmFlags::READ | VmFlags::MAYREAD | VmFlags::PFNMAP | VmFlags::IO | VmFlags::DONTEXPAND | VmFlags::DONTDUMP;
        let code = VmFlags::READ
            | VmFlags::EXEC
            | VmFlags::MAYREAD
            | VmFlags::MAYWRITE
            | VmFlags::MAYEXEC
            | VmFlags::DONTEXPAND;
        let parts = [
            (layout.vvar_pages, data, Special::Vvar),
            (layout.vvar_vclock_pages, data, Special::VvarVclock),
            (layout.vdso_pages, code, Special::Vdso),
        ];
        let mut start = base;
        let mut text = base;
        for (pages, flags, special) in parts {
            if special == Special::Vdso {
                text = start;
            }
            if pages == 0 {
                continue;
            }
            let end = start + pages * PAGE_SIZE;
            self.vma_link(id, Vma { start, end, flags, pgoff: 0, file: None, anon_vma: None, special: Some(special) });
            start = end;
        }
        Ok(text)
    }
}
