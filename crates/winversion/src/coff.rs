//! A minimal AMD64 COFF object holding a resource directory in a `.rsrc` section.
//!
//! Layout of the object file:
//!
//! | offset            | contents                                                      |
//! |-------------------|---------------------------------------------------------------|
//! | 0                 | `IMAGE_FILE_HEADER` (20 bytes), machine AMD64, time stamp 0   |
//! | 20                | `IMAGE_SECTION_HEADER` `.rsrc` (40 bytes)                     |
//! | 60                | section data: resource directory tree, data entry, resource   |
//! | 60 + data         | one relocation `IMAGE_REL_AMD64_ADDR32NB` (10 bytes)          |
//! | … + 10            | symbol table: section symbol `.rsrc` + its aux record (36)    |
//! | … + 36            | string table: just its 4-byte size                            |
//!
//! `IMAGE_RESOURCE_DATA_ENTRY.OffsetToData` must be an RVA in the final image, which is unknown
//! here, so the field holds the offset of the data within `.rsrc` and an ADDR32NB relocation
//! against the section symbol makes the linker add the section's RVA. That is what windres,
//! llvm-cvtres and Go's own `cmd/link/internal/loadpe` expect.

/// `IMAGE_FILE_MACHINE_AMD64`.
pub(crate) const MACHINE_AMD64: u16 = 0x8664;
/// `IMAGE_SCN_CNT_INITIALIZED_DATA | IMAGE_SCN_MEM_READ`: Go's loader maps exactly this
/// combination to read-only data and collects sections named `.rsrc` as resources.
pub(crate) const RSRC_CHARACTERISTICS: u32 = 0x0000_0040 | 0x4000_0000;
/// `IMAGE_REL_AMD64_ADDR32NB`: 32-bit address relative to the image base (an RVA).
pub(crate) const REL_AMD64_ADDR32NB: u16 = 3;
/// `IMAGE_SYM_CLASS_STATIC`: with type 0 and a name starting with '.', a section symbol.
const SYM_CLASS_STATIC: u8 = 3;

const FILE_HEADER_LEN: usize = 20;
const SECTION_HEADER_LEN: usize = 40;
const RELOCATION_LEN: usize = 10;
const SYMBOL_LEN: usize = 18;

/// Offsets inside the `.rsrc` section of the name and language directories (the type directory
/// is at 0) and of the data entry.
const NAME_DIR: u32 = 24;
const LANG_DIR: u32 = 48;
const DATA_ENTRY: u32 = 72;
/// The resource bytes follow the 16-byte data entry, on an 8-byte boundary.
pub(crate) const RESOURCE_DATA: u32 = 88;
/// High bit of `OffsetToData` in a directory entry: the entry points to a subdirectory.
const SUBDIRECTORY: u32 = 0x8000_0000;

/// Resource name (ID) of the version resource; Windows looks up `VS_VERSION_INFO` = 1.
const VERSION_RESOURCE_ID: u16 = 1;

/// Builds the object. `resource` is the complete `VS_VERSIONINFO` block.
pub(crate) fn object_with_version_resource(resource: &[u8]) -> Vec<u8> {
    let section = rsrc_section(resource);
    let raw_data = FILE_HEADER_LEN + SECTION_HEADER_LEN;
    let relocations = raw_data + section.len();
    let symbols = relocations + RELOCATION_LEN;
    let total = symbols + 2 * SYMBOL_LEN + 4;

    let mut out = Vec::with_capacity(total);

    // IMAGE_FILE_HEADER
    put16(&mut out, MACHINE_AMD64);
    put16(&mut out, 1); // NumberOfSections
    put32(&mut out, 0); // TimeDateStamp: zero so identical input gives identical bytes
    put32(&mut out, symbols as u32); // PointerToSymbolTable
    put32(&mut out, 2); // NumberOfSymbols, counting the aux record
    put16(&mut out, 0); // SizeOfOptionalHeader: objects have none
    put16(&mut out, 0); // Characteristics

    // IMAGE_SECTION_HEADER
    out.extend_from_slice(b".rsrc\0\0\0");
    put32(&mut out, 0); // VirtualSize: zero in objects
    put32(&mut out, 0); // VirtualAddress: zero in objects
    put32(&mut out, section.len() as u32); // SizeOfRawData
    put32(&mut out, raw_data as u32); // PointerToRawData
    put32(&mut out, relocations as u32); // PointerToRelocations
    put32(&mut out, 0); // PointerToLinenumbers
    put16(&mut out, 1); // NumberOfRelocations
    put16(&mut out, 0); // NumberOfLinenumbers
    put32(&mut out, RSRC_CHARACTERISTICS);

    out.extend_from_slice(&section);

    // IMAGE_RELOCATION: data entry's OffsetToData += RVA of symbol 0 (the .rsrc section).
    put32(&mut out, DATA_ENTRY);
    put32(&mut out, 0); // SymbolTableIndex
    put16(&mut out, REL_AMD64_ADDR32NB);

    // IMAGE_SYMBOL for the section
    out.extend_from_slice(b".rsrc\0\0\0");
    put32(&mut out, 0); // Value: the start of the section
    put16(&mut out, 1); // SectionNumber (1-based)
    put16(&mut out, 0); // Type: IMAGE_SYM_TYPE_NULL
    out.push(SYM_CLASS_STATIC);
    out.push(1); // NumberOfAuxSymbols
                 // IMAGE_AUX_SYMBOL section definition
    put32(&mut out, section.len() as u32); // Length
    put16(&mut out, 1); // NumberOfRelocations
    put16(&mut out, 0); // NumberOfLinenumbers
    put32(&mut out, 0); // CheckSum: only used for COMDAT sections
    put16(&mut out, 0); // Number
    out.push(0); // Selection
    out.extend_from_slice(&[0; 3]);

    // String table: empty, but its size field must be present.
    put32(&mut out, 4);

    debug_assert_eq!(out.len(), total);
    out
}

/// The `.rsrc` section: directory tree RT_VERSION → ID 1 → en-US → data entry → data.
fn rsrc_section(resource: &[u8]) -> Vec<u8> {
    let mut s = Vec::with_capacity(RESOURCE_DATA as usize + resource.len() + 8);
    directory(&mut s, crate::RT_VERSION, SUBDIRECTORY | NAME_DIR);
    debug_assert_eq!(s.len() as u32, NAME_DIR);
    directory(&mut s, VERSION_RESOURCE_ID, SUBDIRECTORY | LANG_DIR);
    debug_assert_eq!(s.len() as u32, LANG_DIR);
    directory(&mut s, crate::LANG_EN_US, DATA_ENTRY);
    debug_assert_eq!(s.len() as u32, DATA_ENTRY);

    // IMAGE_RESOURCE_DATA_ENTRY
    put32(&mut s, RESOURCE_DATA); // OffsetToData: section offset here, RVA after relocation
    put32(&mut s, resource.len() as u32); // Size
    put32(&mut s, 0); // CodePage: rc.exe and windres leave it zero
    put32(&mut s, 0); // Reserved
    debug_assert_eq!(s.len() as u32, RESOURCE_DATA);

    s.extend_from_slice(resource);
    while !s.len().is_multiple_of(8) {
        s.push(0);
    }
    s
}

/// Appends an `IMAGE_RESOURCE_DIRECTORY` with a single ID entry.
fn directory(s: &mut Vec<u8>, id: u16, offset_to_data: u32) {
    put32(s, 0); // Characteristics
    put32(s, 0); // TimeDateStamp: zero for reproducibility
    put16(s, 0); // MajorVersion
    put16(s, 0); // MinorVersion
    put16(s, 0); // NumberOfNamedEntries
    put16(s, 1); // NumberOfIdEntries
    put32(s, u32::from(id)); // IMAGE_RESOURCE_DIRECTORY_ENTRY.Name: an integer ID
    put32(s, offset_to_data);
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}
