//! Column definitions of the tables this crate writes, as documented by Microsoft for the
//! Windows Installer 2.0 schema (page count 200). The same definitions produce `_Columns` (column
//! types for the engine) and `_Validation` (categories, ranges and foreign keys for validators such
//! as our lint and ICE tools).

/// Storage type of a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ColType {
    /// String with a maximum length in characters (0 = unlimited).
    Str(u16),
    /// 16-bit integer.
    I16,
    /// 32-bit integer.
    I32,
}

/// One column.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ColumnDef {
    pub name: &'static str,
    pub ty: ColType,
    pub key: bool,
    pub nullable: bool,
    pub localizable: bool,
    pub category: Option<&'static str>,
    pub range: Option<(i32, i32)>,
    pub key_table: Option<&'static str>,
    pub key_column: Option<i16>,
    pub set: Option<&'static str>,
}

// `_Columns.Type` bits, as the Windows Installer engine stores them (msidefs / Wine's msipriv.h);
// the writer sets them here and `read::table` decodes them.
pub(crate) const TYPE_FIELD_SIZE: i32 = 0xFF;
pub(crate) const TYPE_VALID: i32 = 0x0100;
pub(crate) const TYPE_LOCALIZABLE: i32 = 0x0200;
pub(crate) const TYPE_NONBINARY: i32 = 0x0400;
pub(crate) const TYPE_STRING: i32 = 0x0800;
pub(crate) const TYPE_NULLABLE: i32 = 0x1000;
pub(crate) const TYPE_KEY: i32 = 0x2000;

impl ColumnDef {
    const fn new(name: &'static str, ty: ColType) -> ColumnDef {
        ColumnDef {
            name,
            ty,
            key: false,
            nullable: false,
            localizable: false,
            category: None,
            range: None,
            key_table: None,
            key_column: None,
            set: None,
        }
    }
    const fn key(mut self) -> Self {
        self.key = true;
        self
    }
    const fn null(mut self) -> Self {
        self.nullable = true;
        self
    }
    const fn loc(mut self) -> Self {
        self.localizable = true;
        self
    }
    const fn cat(mut self, category: &'static str) -> Self {
        self.category = Some(category);
        self
    }
    const fn range(mut self, min: i32, max: i32) -> Self {
        self.range = Some((min, max));
        self
    }
    const fn fk(mut self, table: &'static str, column: i16) -> Self {
        self.key_table = Some(table);
        self.key_column = Some(column);
        self
    }
    const fn set(mut self, set: &'static str) -> Self {
        self.set = Some(set);
        self
    }

    /// The `_Columns.Type` value.
    pub(crate) fn type_bits(&self) -> i32 {
        let mut bits = TYPE_VALID
            | match self.ty {
                ColType::Str(len) => TYPE_STRING | TYPE_NONBINARY | len as i32,
                ColType::I16 => TYPE_NONBINARY | 2,
                ColType::I32 => 4,
            };
        if self.nullable {
            bits |= TYPE_NULLABLE;
        }
        if self.key {
            bits |= TYPE_KEY;
        }
        if self.localizable {
            bits |= TYPE_LOCALIZABLE;
        }
        bits
    }
}

/// One table.
#[derive(Debug)]
pub(crate) struct TableDef {
    pub name: &'static str,
    pub columns: &'static [ColumnDef],
}

const fn s(name: &'static str, len: u16) -> ColumnDef {
    ColumnDef::new(name, ColType::Str(len))
}
const fn i2(name: &'static str) -> ColumnDef {
    ColumnDef::new(name, ColType::I16)
}
const fn i4(name: &'static str) -> ColumnDef {
    ColumnDef::new(name, ColType::I32)
}
const fn id(name: &'static str, len: u16) -> ColumnDef {
    s(name, len).cat("Identifier")
}

const CATEGORIES: &str = "Text;Formatted;Template;Condition;GUID;Path;Version;Language;Identifier;Binary;UpperCase;\
LowerCase;Filename;Paths;AnyPath;WildCardFilename;RegPath;CustomSource;Property;Cabinet;Shortcut;FormattedSDDLText;\
Integer;DoubleInteger;TimeDate;DefaultDir";

pub(crate) static VALIDATION: TableDef = TableDef {
    name: "_Validation",
    columns: &[
        id("Table", 32).key(),
        id("Column", 32).key(),
        s("Nullable", 4).set("Y;N"),
        i4("MinValue").null().range(-2147483647, 2147483647),
        i4("MaxValue").null().range(-2147483647, 2147483647),
        id("KeyTable", 255).null(),
        i2("KeyColumn").null().range(1, 32),
        s("Category", 32).null().set(CATEGORIES),
        s("Set", 255).null().cat("Text"),
        s("Description", 255).null().cat("Text"),
    ],
};

const fn sequence_columns() -> [ColumnDef; 3] {
    [
        id("Action", 72).key(),
        s("Condition", 255).null().loc().cat("Condition"),
        i2("Sequence").null().range(-4, 32767),
    ]
}

static SEQUENCE_COLUMNS: [ColumnDef; 3] = sequence_columns();

pub(crate) static ADMIN_EXECUTE_SEQUENCE: TableDef = TableDef {
    name: "AdminExecuteSequence",
    columns: &SEQUENCE_COLUMNS,
};
pub(crate) static ADMIN_UI_SEQUENCE: TableDef = TableDef {
    name: "AdminUISequence",
    columns: &SEQUENCE_COLUMNS,
};
pub(crate) static ADVT_EXECUTE_SEQUENCE: TableDef = TableDef {
    name: "AdvtExecuteSequence",
    columns: &SEQUENCE_COLUMNS,
};
pub(crate) static INSTALL_EXECUTE_SEQUENCE: TableDef = TableDef {
    name: "InstallExecuteSequence",
    columns: &SEQUENCE_COLUMNS,
};
pub(crate) static INSTALL_UI_SEQUENCE: TableDef = TableDef {
    name: "InstallUISequence",
    columns: &SEQUENCE_COLUMNS,
};

pub(crate) static APP_SEARCH: TableDef = TableDef {
    name: "AppSearch",
    columns: &[
        id("Property", 72).key(),
        id("Signature_", 72)
            .key()
            .fk("Signature;RegLocator;IniLocator;DrLocator;CompLocator", 1),
    ],
};

pub(crate) static COMPONENT: TableDef = TableDef {
    name: "Component",
    columns: &[
        id("Component", 72).key(),
        s("ComponentId", 38).null().cat("GUID"),
        id("Directory_", 72).fk("Directory", 1),
        i2("Attributes"),
        s("Condition", 255).null().loc().cat("Condition"),
        id("KeyPath", 72)
            .null()
            .fk("File;Registry;ODBCDataSource", 1),
    ],
};

pub(crate) static CREATE_FOLDER: TableDef = TableDef {
    name: "CreateFolder",
    columns: &[
        id("Directory_", 72).key().fk("Directory", 1),
        id("Component_", 72).key().fk("Component", 1),
    ],
};

pub(crate) static CUSTOM_ACTION: TableDef = TableDef {
    name: "CustomAction",
    columns: &[
        id("Action", 72).key(),
        i2("Type").range(1, 32767),
        s("Source", 72).null().cat("CustomSource"),
        s("Target", 255).null().loc().cat("Formatted"),
    ],
};

pub(crate) static DIRECTORY: TableDef = TableDef {
    name: "Directory",
    columns: &[
        id("Directory", 72).key(),
        id("Directory_Parent", 72).null().fk("Directory", 1),
        s("DefaultDir", 255).loc().cat("DefaultDir"),
    ],
};

pub(crate) static FEATURE: TableDef = TableDef {
    name: "Feature",
    columns: &[
        id("Feature", 38).key(),
        id("Feature_Parent", 38).null().fk("Feature", 1),
        s("Title", 64).null().loc().cat("Text"),
        s("Description", 255).null().loc().cat("Text"),
        i2("Display").null().range(0, 32767),
        i2("Level").range(0, 32767),
        s("Directory_", 72)
            .null()
            .fk("Directory", 1)
            .cat("UpperCase"),
        i2("Attributes").set(
            "0;1;2;4;5;6;8;9;10;16;17;18;20;21;22;24;25;26;32;33;34;36;37;38;48;49;50;52;53;54",
        ),
    ],
};

pub(crate) static FEATURE_COMPONENTS: TableDef = TableDef {
    name: "FeatureComponents",
    columns: &[
        id("Feature_", 38).key().fk("Feature", 1),
        id("Component_", 72).key().fk("Component", 1),
    ],
};

pub(crate) static FILE: TableDef = TableDef {
    name: "File",
    columns: &[
        id("File", 72).key(),
        id("Component_", 72).fk("Component", 1),
        s("FileName", 255).loc().cat("Filename"),
        i4("FileSize").range(0, 2147483647),
        s("Version", 72).null().fk("File", 1).cat("Version"),
        s("Language", 20).null().cat("Language"),
        i2("Attributes").null().range(0, 32767),
        i4("Sequence").range(1, 2147483647),
    ],
};

pub(crate) static LAUNCH_CONDITION: TableDef = TableDef {
    name: "LaunchCondition",
    columns: &[
        s("Condition", 255).key().loc().cat("Condition"),
        s("Description", 255).loc().cat("Formatted"),
    ],
};

pub(crate) static MEDIA: TableDef = TableDef {
    name: "Media",
    columns: &[
        i2("DiskId").key().range(1, 32767),
        i4("LastSequence").range(0, 2147483647),
        s("DiskPrompt", 64).null().loc().cat("Text"),
        s("Cabinet", 255).null().cat("Cabinet"),
        s("VolumeLabel", 32).null().cat("Text"),
        s("Source", 72).null().cat("Property"),
    ],
};

pub(crate) static PROPERTY: TableDef = TableDef {
    name: "Property",
    columns: &[id("Property", 72).key(), s("Value", 0).loc().cat("Text")],
};

pub(crate) static REGISTRY: TableDef = TableDef {
    name: "Registry",
    columns: &[
        id("Registry", 72).key(),
        i2("Root").range(-1, 3),
        s("Key", 255).loc().cat("RegPath"),
        s("Name", 255).null().loc().cat("Formatted"),
        s("Value", 0).null().loc().cat("Formatted"),
        id("Component_", 72).fk("Component", 1),
    ],
};

pub(crate) static REG_LOCATOR: TableDef = TableDef {
    name: "RegLocator",
    columns: &[
        id("Signature_", 72).key(),
        i2("Root").range(0, 3),
        s("Key", 255).loc().cat("RegPath"),
        s("Name", 255).null().loc().cat("Formatted"),
        i2("Type").null().range(0, 18),
    ],
};

pub(crate) static SERVICE_CONTROL: TableDef = TableDef {
    name: "ServiceControl",
    columns: &[
        id("ServiceControl", 72).key(),
        s("Name", 255).loc().cat("Formatted"),
        i2("Event").range(0, 187),
        s("Arguments", 255).null().loc().cat("Formatted"),
        i2("Wait").null().range(0, 1),
        id("Component_", 72).fk("Component", 1),
    ],
};

pub(crate) static SERVICE_INSTALL: TableDef = TableDef {
    name: "ServiceInstall",
    columns: &[
        id("ServiceInstall", 72).key(),
        s("Name", 255).cat("Formatted"),
        s("DisplayName", 255).null().loc().cat("Formatted"),
        i4("ServiceType").range(-2147483647, 2147483647),
        i4("StartType").range(0, 4),
        i4("ErrorControl").range(-2147483647, 2147483647),
        s("LoadOrderGroup", 255).null().cat("Formatted"),
        s("Dependencies", 255).null().cat("Formatted"),
        s("StartName", 255).null().cat("Formatted"),
        s("Password", 255).null().cat("Formatted"),
        s("Arguments", 255).null().cat("Formatted"),
        id("Component_", 72).fk("Component", 1),
        s("Description", 255).null().loc().cat("Text"),
    ],
};

pub(crate) static UPGRADE: TableDef = TableDef {
    name: "Upgrade",
    columns: &[
        s("UpgradeCode", 38).key().cat("GUID"),
        s("VersionMin", 20).key().null().cat("Text"),
        s("VersionMax", 20).key().null().cat("Text"),
        s("Language", 255).key().null().loc().cat("Language"),
        i4("Attributes").key().range(0, 2147483647),
        s("Remove", 255).null().cat("Formatted"),
        s("ActionProperty", 72).cat("UpperCase"),
    ],
};

/// Our own table: the public properties a per-site transform may change, and their value kinds.
pub(crate) static WINRELEASE_SETTINGS: TableDef = TableDef {
    name: "WinreleaseSettings",
    columns: &[
        id("Property_", 72).key().fk("Property", 1),
        s("Kind", 16).set("text;port;integer"),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_bits_match_the_values_windows_installer_tools_write() {
        // Values as seen in `_Columns` of Microsoft- and WiX-built packages.
        assert_eq!(PROPERTY.columns[0].type_bits(), 0x2D48); // s72 key
        assert_eq!(PROPERTY.columns[1].type_bits(), 0x0F00); // l0
        assert_eq!(MEDIA.columns[0].type_bits(), 0x2502); // i2 key
        assert_eq!(FILE.columns[3].type_bits(), 0x0104); // i4
        assert_eq!(FILE.columns[6].type_bits(), 0x1502); // i2 nullable
        assert_eq!(COMPONENT.columns[1].type_bits(), 0x1D26); // S38
    }
}
