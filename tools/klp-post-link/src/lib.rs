// SPDX-License-Identifier: GPL-2.0
//! The last step of building a live patch module whose replacement code uses
//! symbols the patched object does not export: it turns those references
//! into *livepatch relocations*, which the livepatch core resolves and
//! applies when the patch is enabled, or when the patched module loads later
//! (the kernel's `Documentation/livepatch/module-elf-format.rst`).
//!
//! The module is built as usual. `klp::symbols!` declares each symbol of the
//! patched object under the name `.klp.sym.<object>.<symbol>,<sympos>`, as a
//! weak undefined symbol, so that modpost does not report it (the kernel's
//! own `objtool klp diff` does the same). This step then, in the linked
//! `.ko`:
//!
//! - moves every relocation against such a symbol out of its `.rela.<sec>`
//!   section into `.klp.rela.<object>.<sec>` (`SHT_RELA`, `SHF_ALLOC |
//!   SHF_INFO_LINK | SHF_RELA_LIVEPATCH`), which the module loader leaves to
//!   the livepatch core;
//! - marks the symbol `SHN_LIVEPATCH`, which the module loader does not try
//!   to resolve;
//! - drops the `.call_sites` entries (call-depth tracking) of the calls it
//!   moved: the module loader reads them before the livepatch core has
//!   written those calls' targets, and would find no valid thunk padding;
//! - refuses what the core would get wrong at run time: an object the patch
//!   does not list (the core applies an object's relocations only for the
//!   patch's own objects; the list is the `.klp_rs.objects` section that
//!   `klp::livepatch_module!` emits), a reference from an init section (freed
//!   before the relocations are written), a relocation type the
//!   architecture's `apply_relocate_add()` does not handle, a malformed name.
//!
//! It is what the kernel's `objtool klp post-link` does for modules made by
//! `klp-build` (Linux 6.19 and later), for a module compiled from source:
//! one tool for every kernel line klp-rs supports.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use object::build::Id;
use object::build::elf::{Builder, Relocation, SectionData, SectionId};
use object::elf;
use object::read::elf::{ElfFile64, FileHeader, SectionHeader, Sym};
use object::{Endian, Endianness, Object, ObjectSymbol};

/// `st_shndx` of a livepatch symbol (`include/uapi/linux/elf.h`).
pub const SHN_LIVEPATCH: u16 = 0xff20;
/// `sh_flags` bit of a livepatch relocation section.
pub const SHF_RELA_LIVEPATCH: u64 = 0x0010_0000;
/// The prefix of a livepatch symbol's name.
pub const KLP_SYM_PREFIX: &str = ".klp.sym.";
/// The prefix of a livepatch relocation section's name.
pub const KLP_RELA_PREFIX: &str = ".klp.rela.";
/// The section in which `klp::livepatch_module!` lists its patch's objects,
/// each name followed by a NUL (`vmlinux` for vmlinux).
pub const OBJECTS_SECTION: &str = ".klp_rs.objects";

// The core's limits, as klp_resolve_symbols() scans the name.
const MODULE_NAME_LEN: usize = 56;
const KSYM_NAME_LEN: usize = 512;

/// Why a module cannot be converted. Nothing is written then.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read or write the ELF file: {0}")]
    Elf(#[from] object::build::Error),
    #[error("the module has no symbol table")]
    NoSymtab,
    #[error("not an x86_64 relocatable object (klp-post-link supports x86_64)")]
    Machine,
    #[error("symbol '{name}': {why} (expected .klp.sym.<object>.<symbol>,<sympos>)")]
    BadName { name: String, why: &'static str },
    #[error("symbol '{0}' is defined in the module; a livepatch symbol must be undefined")]
    Defined(String),
    #[error(
        "no {OBJECTS_SECTION} section: the module does not come from klp::livepatch_module!, \
         so the objects of its patch are unknown"
    )]
    NoObjects,
    #[error(
        "'{symbol}' belongs to '{object}', which is not an object of the patch (it has: {objects}); \
         the livepatch core applies the relocations of the patch's objects only"
    )]
    NotPatched {
        symbol: String,
        object: String,
        objects: String,
    },
    #[error(
        "'{symbol}' is used from {section}, which the kernel frees after the module's init; \
         livepatch relocations are written later"
    )]
    InitSection { symbol: String, section: String },
    #[error("'{symbol}' is used from {section}, which is not loaded into memory")]
    NotLoaded { symbol: String, section: String },
    #[error(
        "'{symbol}' is used by a relocation of type {r_type} in {section}, which the kernel's \
         apply_relocate_add() does not handle"
    )]
    RelocationType {
        symbol: String,
        section: String,
        r_type: u32,
    },
}

/// A livepatch symbol's name, split: `.klp.sym.<object>.<name>,<sympos>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KlpSym {
    pub object: String,
    pub name: String,
    pub sympos: u64,
}

impl KlpSym {
    /// Splits a symbol name; `Ok(None)` if it is not a livepatch symbol.
    pub fn parse(full: &[u8]) -> Result<Option<KlpSym>, Error> {
        let Some(rest) = full.strip_prefix(KLP_SYM_PREFIX.as_bytes()) else {
            return Ok(None);
        };
        let full_name = String::from_utf8_lossy(full).into_owned();
        let bad = |why| Error::BadName {
            name: full_name.clone(),
            why,
        };
        let rest = std::str::from_utf8(rest).map_err(|_| bad("not UTF-8"))?;
        let (object, rest) = rest.split_once('.').ok_or_else(|| bad("no object name"))?;
        let (name, sympos) = rest.rsplit_once(',').ok_or_else(|| bad("no ',<sympos>'"))?;
        if object.is_empty() || object.len() >= MODULE_NAME_LEN {
            return Err(bad("the object name must have 1 to 55 characters"));
        }
        if object != "vmlinux"
            && !object
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(bad("a module name has only letters, digits and '_'"));
        }
        if name.is_empty() || name.len() >= KSYM_NAME_LEN || name.contains(',') {
            return Err(bad(
                "the symbol name must have 1 to 511 characters and no ','",
            ));
        }
        let sympos = sympos
            .parse()
            .ok()
            .filter(|_| sympos.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| bad("the sympos is not a decimal number"))?;
        Ok(Some(KlpSym {
            object: object.to_owned(),
            name: name.to_owned(),
            sympos,
        }))
    }
}

/// What a conversion did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The livepatch symbols, by name.
    pub symbols: Vec<String>,
    /// The livepatch relocation sections created, with their entry counts.
    pub sections: Vec<(String, usize)>,
    /// `.call_sites` entries dropped.
    pub call_sites_dropped: usize,
}

/// The relocation types x86_64's apply_relocate_add() writes.
const RELOCATION_TYPES: [u32; 6] = [
    elf::R_X86_64_64.0,
    elf::R_X86_64_PC32.0,
    elf::R_X86_64_PLT32.0,
    elf::R_X86_64_32.0,
    elf::R_X86_64_32S.0,
    elf::R_X86_64_PC64.0,
];

/// Converts one module. `Ok(None)`: nothing to do (no livepatch symbol, or
/// every one already converted), the file is left as it is.
pub fn convert(data: &[u8]) -> Result<Option<(Vec<u8>, Report)>, Error> {
    if !has_klp_symbols(data)? {
        return Ok(None);
    }
    let data = without_addrsig(data)?;
    let mut builder = Builder::read(&*data)?;
    for section in builder.sections.iter_mut() {
        if section.name.as_slice() == ADDRSIG.as_bytes() {
            section.delete = true;
        }
    }
    if builder.header.e_machine != elf::EM_X86_64 || builder.header.e_type != elf::ET_REL {
        return Err(Error::Machine);
    }

    // The livepatch symbols still to convert.
    let mut klp_syms = BTreeMap::new();
    for symbol in builder.symbols.iter() {
        let Some(sym) = KlpSym::parse(&symbol.name)? else {
            continue;
        };
        if symbol.st_shndx.0 == SHN_LIVEPATCH {
            continue;
        }
        if symbol.section.is_some() || symbol.st_shndx != elf::SHN_UNDEF {
            return Err(Error::Defined(lossy(&symbol.name)));
        }
        klp_syms.insert(symbol.id().index(), (symbol.id(), sym));
    }
    if klp_syms.is_empty() {
        return Ok(None);
    }

    let objects = patch_objects(&builder)?;
    for (id, sym) in klp_syms.values() {
        if !objects.contains(&sym.object) {
            return Err(Error::NotPatched {
                symbol: lossy(&builder.symbols.get(*id).name),
                object: sym.object.clone(),
                objects: objects.join(", "),
            });
        }
    }
    let symtab = builder
        .sections
        .iter()
        .find(|s| matches!(s.data, SectionData::Symbol))
        .map(|s| s.id())
        .ok_or(Error::NoSymtab)?;

    // Take the relocations against livepatch symbols out of their sections,
    // grouped by (object, target section).
    let mut moved: BTreeMap<(String, usize), (SectionId, Vec<Relocation>)> = BTreeMap::new();
    let mut calls = BTreeSet::new();
    let section_names: BTreeMap<usize, (String, bool)> = builder
        .sections
        .iter()
        .map(|s| (s.id().index(), (lossy(&s.name), s.is_alloc())))
        .collect();
    for section in builder.sections.iter_mut() {
        let Some(target) = section.sh_info_section else {
            continue;
        };
        if section.sh_type != elf::SHT_RELA {
            continue;
        }
        let SectionData::Relocation(relocs) = &mut section.data else {
            continue;
        };
        let (target_name, target_alloc) = &section_names[&target.index()];
        let before = relocs.len();
        let mut kept = Vec::with_capacity(relocs.len());
        for reloc in relocs.drain(..) {
            let Some(sym) = reloc
                .symbol
                .and_then(|id| klp_syms.get(&id.index()))
                .map(|(_, sym)| sym)
            else {
                kept.push(reloc);
                continue;
            };
            let symbol = format!("{KLP_SYM_PREFIX}{}.{},{}", sym.object, sym.name, sym.sympos);
            if target_name.starts_with(".init") || target_name.starts_with(".exit") {
                return Err(Error::InitSection {
                    symbol,
                    section: target_name.clone(),
                });
            }
            if !target_alloc {
                return Err(Error::NotLoaded {
                    symbol,
                    section: target_name.clone(),
                });
            }
            if !RELOCATION_TYPES.contains(&reloc.r_type.0) {
                return Err(Error::RelocationType {
                    symbol,
                    section: target_name.clone(),
                    r_type: reloc.r_type.0,
                });
            }
            if matches!(reloc.r_type, elf::R_X86_64_PLT32 | elf::R_X86_64_PC32)
                && reloc.r_offset > 0
            {
                // Possibly a `call rel32`, whose opcode byte comes first.
                calls.insert((target.index(), reloc.r_offset - 1));
            }
            moved
                .entry((sym.object.clone(), target.index()))
                .or_insert_with(|| (target, Vec::new()))
                .1
                .push(reloc);
        }
        *relocs = kept;
        if relocs.is_empty() && before > 0 {
            section.delete = true;
        }
    }

    let call_sites_dropped = drop_call_sites(&mut builder, &calls);

    let mut report = Report {
        call_sites_dropped,
        ..Report::default()
    };
    for ((object, index), (target, relocs)) in moved {
        let name = format!("{KLP_RELA_PREFIX}{object}.{}", section_names[&index].0);
        report.sections.push((name.clone(), relocs.len()));
        let section = builder.sections.add();
        section.name = name.into_bytes().into();
        section.sh_type = elf::SHT_RELA;
        section.sh_flags =
            elf::SectionFlags(elf::SHF_ALLOC.0 | elf::SHF_INFO_LINK.0 | SHF_RELA_LIVEPATCH);
        section.sh_link_section = Some(symtab);
        section.sh_info_section = Some(target);
        section.sh_addralign = 8;
        section.sh_entsize = 24;
        section.data = SectionData::Relocation(relocs);
    }
    for (id, _) in klp_syms.values() {
        let symbol = builder.symbols.get_mut(*id);
        symbol.section = None;
        symbol.st_shndx = elf::SymbolSection(SHN_LIVEPATCH);
        report.symbols.push(lossy(&symbol.name));
    }

    let mut out = Vec::with_capacity(data.len() + 4096);
    builder.write(&mut out)?;
    Ok(Some((out, report)))
}

/// Whether the file has a symbol named `.klp.sym.*` not yet marked
/// `SHN_LIVEPATCH`: a quick look that leaves most modules, and converted
/// ones, alone.
fn has_klp_symbols(data: &[u8]) -> Result<bool, Error> {
    let file = ElfFile64::<Endianness>::parse(data).map_err(|_| Error::Machine)?;
    let endian = file.endian();
    Ok(file.symbols().any(|sym| {
        sym.name_bytes()
            .is_ok_and(|n| n.starts_with(KLP_SYM_PREFIX.as_bytes()))
            && sym.elf_symbol().st_shndx(endian).0 != SHN_LIVEPATCH
    }))
}

/// `.llvm_addrsig`, clang's and rustc's table of address-significant symbols
/// for the linker's identical code folding: meaningless once the module is
/// linked, and of a type the ELF builder does not copy.
const ADDRSIG: &str = ".llvm_addrsig";
const SHT_LLVM_ADDRSIG: u32 = 0x6fff_4c03;

/// `data`, with `.llvm_addrsig` retyped as plain bits so that the builder
/// reads the file (and then drops that section): the symbol indices in it
/// would be stale after the rewrite anyway.
fn without_addrsig(data: &[u8]) -> Result<Cow<'_, [u8]>, Error> {
    let file = ElfFile64::<Endianness>::parse(data).map_err(|_| Error::Machine)?;
    let endian = file.endian();
    let shoff = file.elf_header().e_shoff(endian) as usize;
    let shentsize = usize::from(file.elf_header().e_shentsize(endian));
    let mut out = Cow::Borrowed(data);
    for (index, section) in file.elf_section_table().iter().enumerate() {
        if section.sh_type(endian).0 == SHT_LLVM_ADDRSIG {
            // sh_type is the second 32-bit word of a section header.
            let at = shoff + index * shentsize + 4;
            out.to_mut()[at..at + 4].copy_from_slice(&endian.write_u32(elf::SHT_PROGBITS.0));
        }
    }
    Ok(out)
}

/// The objects of the module's patch, from [`OBJECTS_SECTION`].
fn patch_objects(builder: &Builder<'_>) -> Result<Vec<String>, Error> {
    let section = builder
        .sections
        .iter()
        .find(|s| s.name.as_slice() == OBJECTS_SECTION.as_bytes())
        .ok_or(Error::NoObjects)?;
    let SectionData::Data(data) = &section.data else {
        return Err(Error::NoObjects);
    };
    Ok(data
        .split(|&b| b == 0)
        .filter(|name| !name.is_empty())
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .collect())
}

/// Drops the `.call_sites` entries that point at one of `calls` (section,
/// offset of a `call` instruction), with their relocations. Each entry is a
/// 32-bit PC-relative reference to a call instruction, by a relocation
/// against a symbol of that instruction's section.
fn drop_call_sites(builder: &mut Builder<'_>, calls: &BTreeSet<(usize, u64)>) -> usize {
    const ENTRY: u64 = 4;
    let Some(sites) = builder
        .sections
        .iter()
        .find(|s| s.name.as_slice() == b".call_sites")
        .map(|s| s.id())
    else {
        return 0;
    };
    let Some(rela) = builder
        .sections
        .iter()
        .find(|s| s.sh_info_section == Some(sites) && s.sh_type == elf::SHT_RELA)
        .map(|s| s.id())
    else {
        return 0;
    };
    let SectionData::Relocation(relocs) = &builder.sections.get(rela).data else {
        return 0;
    };
    // The entries to drop, by their offset in .call_sites.
    let dropped: BTreeSet<u64> = relocs
        .iter()
        .filter(|r| {
            r.symbol.is_some_and(|id| {
                let sym = builder.symbols.get(id);
                let insn = sym.st_value.wrapping_add(r.r_addend as u64);
                sym.section
                    .is_some_and(|sec| calls.contains(&(sec.index(), insn)))
            })
        })
        .map(|r| r.r_offset)
        .collect();
    if dropped.is_empty() {
        return 0;
    }
    // Entries after a dropped one move down by one entry each.
    let shift = |offset: u64| dropped.range(..offset).count() as u64 * ENTRY;
    if let SectionData::Relocation(relocs) = &mut builder.sections.get_mut(rela).data {
        relocs.retain(|r| !dropped.contains(&r.r_offset));
        for r in relocs.iter_mut() {
            r.r_offset -= shift(r.r_offset);
        }
    }
    if let SectionData::Data(data) = &mut builder.sections.get_mut(sites).data {
        let bytes = data.to_mut();
        let mut offset = 0;
        bytes.retain(|_| {
            let keep = !dropped.contains(&(offset / ENTRY * ENTRY));
            offset += 1;
            keep
        });
    }
    dropped.len()
}

/// A symbol's or section's name, for messages.
fn lossy(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}
