// SPDX-License-Identifier: GPL-2.0
//! klp-post-link on small relocatable objects made here with `object`'s
//! writer: what a klp-rs module's `.o` looks like after `klp::symbols!`.

use klp_post_link::{Error, KlpSym, SHF_RELA_LIVEPATCH, SHN_LIVEPATCH, convert};
use object::elf;
use object::read::elf::{ElfFile64, FileHeader, Rela, SectionHeader, Sym};
use object::write::{Object, Relocation, SectionId, Symbol, SymbolId, SymbolSection};
use object::{
    Architecture, BinaryFormat, Endianness, Object as _, ObjectSection, ObjectSymbol,
    RelocationFlags, SectionKind, SymbolFlags, SymbolKind, SymbolScope,
};

const SYM: &str = ".klp.sym.vmlinux.secret_fn,0";

/// A module object: `.text` with `call SYM` at offset 0 (and an exported
/// call at 5), `.call_sites` listing both calls, and `.klp_rs.objects`.
struct Module {
    obj: Object<'static>,
    text: SectionId,
}

impl Module {
    fn new(objects: Option<&[u8]>) -> Self {
        let mut obj = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
        let text = obj.add_section(vec![], b".text".to_vec(), SectionKind::Text);
        // call SYM; call printk; ret
        obj.append_section_data(text, &[0xe8, 0, 0, 0, 0, 0xe8, 0, 0, 0, 0, 0xc3], 16);
        if let Some(objects) = objects {
            let sec = obj.add_section(
                vec![],
                b".klp_rs.objects".to_vec(),
                SectionKind::ReadOnlyData,
            );
            obj.append_section_data(sec, objects, 1);
        }
        Module { obj, text }
    }

    fn undefined(&mut self, name: &str, weak: bool) -> SymbolId {
        self.obj.add_symbol(Symbol {
            name: name.as_bytes().to_vec(),
            value: 0,
            size: 0,
            kind: SymbolKind::Unknown,
            scope: SymbolScope::Linkage,
            weak,
            section: SymbolSection::Undefined,
            flags: SymbolFlags::None,
        })
    }

    fn call(&mut self, section: SectionId, offset: u64, symbol: SymbolId) {
        self.obj
            .add_relocation(
                section,
                Relocation {
                    offset: offset + 1,
                    symbol,
                    addend: -4,
                    flags: RelocationFlags::Elf {
                        r_type: elf::R_X86_64_PLT32,
                    },
                },
            )
            .unwrap();
    }

    /// The usual module: SYM called at 0, printk at 5, both in .call_sites.
    fn usual() -> Vec<u8> {
        let mut m = Module::new(Some(b"vmlinux\0"));
        let klp = m.undefined(SYM, true);
        let printk = m.undefined("_printk", false);
        let text = m.text;
        m.call(text, 0, klp);
        m.call(text, 5, printk);
        let sites = m
            .obj
            .add_section(vec![], b".call_sites".to_vec(), SectionKind::ReadOnlyData);
        m.obj.append_section_data(sites, &[0; 8], 4);
        let text_sym = m.obj.section_symbol(text);
        for (entry, insn) in [(0, 0), (4, 5)] {
            m.obj
                .add_relocation(
                    sites,
                    Relocation {
                        offset: entry,
                        symbol: text_sym,
                        addend: insn,
                        flags: RelocationFlags::Elf {
                            r_type: elf::R_X86_64_PC32,
                        },
                    },
                )
                .unwrap();
        }
        m.obj.write().unwrap()
    }
}

#[test]
fn moves_the_relocation_and_marks_the_symbol() {
    let (out, report) = convert(&Module::usual()).unwrap().expect("converted");
    let file = ElfFile64::<Endianness>::parse(&*out).unwrap();
    let endian = file.endian();

    let klp = file
        .section_by_name(".klp.rela.vmlinux..text")
        .expect(".klp.rela.vmlinux..text");
    let header = klp.elf_section_header();
    assert_eq!(header.sh_type(endian), elf::SHT_RELA);
    let flags = header.sh_flags(endian).0;
    assert_eq!(
        flags & SHF_RELA_LIVEPATCH,
        SHF_RELA_LIVEPATCH,
        "SHF_RELA_LIVEPATCH"
    );
    assert_eq!(
        flags & elf::SHF_ALLOC.0,
        elf::SHF_ALLOC.0,
        "SHF_ALLOC: kept in memory"
    );
    let text = file.section_by_name(".text").unwrap();
    assert_eq!(
        header.sh_info(endian) as usize,
        text.index().0,
        "applies to .text"
    );

    // Exactly the call of SYM moved, against SYM; printk's stays in .rela.text.
    let sym = file.symbols().find(|s| s.name() == Ok(SYM)).unwrap();
    let (moved, _) = header.rela(endian, file.data()).unwrap().unwrap();
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].r_offset(endian), 1);
    assert_eq!(moved[0].r_sym(endian, false) as usize, sym.index().0);
    let rela_text = file.section_by_name(".rela.text").unwrap();
    let (kept, _) = rela_text
        .elf_section_header()
        .rela(endian, file.data())
        .unwrap()
        .unwrap();
    assert_eq!(
        kept.len(),
        1,
        "only the exported call is left for the module loader"
    );
    assert_eq!(kept[0].r_offset(endian), 6);

    assert_eq!(sym.elf_symbol().st_shndx(endian).0, SHN_LIVEPATCH);
    assert_eq!(report.symbols, vec![SYM.to_owned()]);
    assert_eq!(
        report.sections,
        vec![(".klp.rela.vmlinux..text".to_owned(), 1)]
    );

    // The moved call's .call_sites entry is gone, the other one moved down.
    let sites = file.section_by_name(".call_sites").unwrap();
    assert_eq!(sites.size(), 4);
    let entries: Vec<_> = sites
        .relocations()
        .map(|(off, r)| (off, r.addend()))
        .collect();
    assert_eq!(entries, vec![(0, 5)]);
    assert_eq!(report.call_sites_dropped, 1);
    assert_eq!(file.elf_header().e_machine(endian), elf::EM_X86_64);
}

#[test]
fn runs_twice_without_change() {
    let (out, _) = convert(&Module::usual()).unwrap().unwrap();
    assert!(
        convert(&out).unwrap().is_none(),
        "an already converted module is left alone"
    );
}

#[test]
fn leaves_a_module_without_livepatch_symbols_alone() {
    let mut m = Module::new(None);
    let printk = m.undefined("_printk", false);
    let text = m.text;
    m.call(text, 0, printk);
    assert!(convert(&m.obj.write().unwrap()).unwrap().is_none());
}

#[test]
fn refuses_an_object_the_patch_does_not_list() {
    let mut m = Module::new(Some(b"vmlinux\0ext4\0"));
    let klp = m.undefined(".klp.sym.btrfs.btrfs_ktype,0", true);
    let text = m.text;
    m.call(text, 0, klp);
    match convert(&m.obj.write().unwrap()) {
        Err(Error::NotPatched {
            object, objects, ..
        }) => {
            assert_eq!(object, "btrfs");
            assert_eq!(objects, "vmlinux, ext4");
        }
        other => panic!("expected NotPatched, got {other:?}"),
    }
}

#[test]
fn refuses_a_module_without_its_patch_objects() {
    let mut m = Module::new(None);
    let klp = m.undefined(SYM, true);
    let text = m.text;
    m.call(text, 0, klp);
    assert!(matches!(
        convert(&m.obj.write().unwrap()),
        Err(Error::NoObjects)
    ));
}

#[test]
fn refuses_a_use_from_an_init_section() {
    let mut m = Module::new(Some(b"vmlinux\0"));
    let init = m
        .obj
        .add_section(vec![], b".init.text".to_vec(), SectionKind::Text);
    m.obj
        .append_section_data(init, &[0xe8, 0, 0, 0, 0, 0xc3], 16);
    let klp = m.undefined(SYM, true);
    m.call(init, 0, klp);
    assert!(matches!(
        convert(&m.obj.write().unwrap()),
        Err(Error::InitSection { section, .. }) if section == ".init.text"
    ));
}

#[test]
fn refuses_a_relocation_type_the_kernel_does_not_apply() {
    let mut m = Module::new(Some(b"vmlinux\0"));
    let klp = m.undefined(SYM, true);
    let text = m.text;
    m.obj
        .add_relocation(
            text,
            Relocation {
                offset: 1,
                symbol: klp,
                addend: -4,
                flags: RelocationFlags::Elf {
                    r_type: elf::R_X86_64_GOTPCREL,
                },
            },
        )
        .unwrap();
    assert!(matches!(
        convert(&m.obj.write().unwrap()),
        Err(Error::RelocationType { r_type, .. }) if r_type == elf::R_X86_64_GOTPCREL.0
    ));
}

#[test]
fn parses_names_as_the_core_does() {
    let sym = KlpSym::parse(b".klp.sym.vmlinux.foo.isra.0,2")
        .unwrap()
        .unwrap();
    assert_eq!(
        sym,
        KlpSym {
            object: "vmlinux".into(),
            name: "foo.isra.0".into(),
            sympos: 2
        }
    );
    assert!(KlpSym::parse(b"printk").unwrap().is_none());
    for bad in [
        &b".klp.sym.vmlinux.foo"[..], // no sympos
        b".klp.sym.vmlinux.foo,x",    // sympos not a number
        b".klp.sym.vmlinux.foo,-1",   // nor negative
        b".klp.sym.vmlinux.,0",       // no symbol name
        b".klp.sym.my-mod.foo,0",     // not a module name
        b".klp.sym.vmlinux",          // no object separator
    ] {
        assert!(
            matches!(KlpSym::parse(bad), Err(Error::BadName { .. })),
            "{} must be refused",
            String::from_utf8_lossy(bad)
        );
    }
    let long = format!(".klp.sym.{}.foo,0", "m".repeat(56));
    assert!(matches!(
        KlpSym::parse(long.as_bytes()),
        Err(Error::BadName { .. })
    ));
}
