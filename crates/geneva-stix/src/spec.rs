//! The STIX 2.1 specification's objects as typed tables: for every SDO, SRO,
//! SCO, marking-definition, language-content and extension-definition, each
//! property with its type and whether it is required (STIX 2.1 sections 3-7).
//!
//! Rules that join several properties (`last_seen` ≥ `first_seen` and the like)
//! live in [`crate::validate`], next to the engine that walks these tables.

use crate::kind::ObjectKind;

/// The type of a property's value.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    String,
    Boolean,
    Integer {
        min: i64,
        max: i64,
    },
    Float {
        min: f64,
        max: f64,
    },
    Timestamp,
    /// A timestamp precise to at least the millisecond (`created`/`modified` of SDOs and SROs, STIX 2.1 section 3.2).
    TimestampMillis,
    /// An identifier; the list names the object types it may point at (empty: any).
    Identifier(&'static [&'static str]),
    /// A non-empty list of values of one type.
    List(&'static Ty),
    Dictionary,
    Hashes,
    KillChainPhase,
    ExternalReference,
    GranularMarking,
    Extensions,
    /// A closed vocabulary (enumeration): any other value is an error.
    Enum(&'static [&'static str]),
    /// An open vocabulary: other values are allowed.
    OpenVocab,
    Hex,
    Binary,
    /// An embedded object with its own properties.
    Object(&'static [Prop]),
    Any,
}

#[derive(Debug, Clone, Copy)]
pub struct Prop {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
}

const fn req(name: &'static str, ty: Ty) -> Prop {
    Prop {
        name,
        ty,
        required: true,
    }
}
const fn opt(name: &'static str, ty: Ty) -> Prop {
    Prop {
        name,
        ty,
        required: false,
    }
}

#[derive(Debug)]
pub struct TypeSpec {
    pub name: &'static str,
    pub kind: ObjectKind,
    /// Type-specific properties (the common ones come from [`common_properties`]).
    pub props: &'static [Prop],
}

/// Predefined extensions of cyber-observables (STIX 2.1 section 6).
#[derive(Debug)]
pub struct ExtensionSpec {
    pub name: &'static str,
    pub object_type: &'static str,
    pub props: &'static [Prop],
}

const S: Ty = Ty::String;
const B: Ty = Ty::Boolean;
const T: Ty = Ty::Timestamp;
const ANY_ID: Ty = Ty::Identifier(&[]);
const STRINGS: Ty = Ty::List(&Ty::String);
const NON_NEGATIVE: Ty = Ty::Integer {
    min: 0,
    max: i64::MAX,
};
const ANY_INT: Ty = Ty::Integer {
    min: i64::MIN,
    max: i64::MAX,
};
const fn ids(types: &'static [&'static str]) -> Ty {
    Ty::Identifier(types)
}
const fn list_of_ids(types: &'static Ty) -> Ty {
    Ty::List(types)
}

const TM: Ty = Ty::TimestampMillis;

pub const SDO_COMMON: &[Prop] = &[
    req("type", S),
    req("spec_version", S),
    req("id", ANY_ID),
    req("created", TM),
    req("modified", TM),
    opt("created_by_ref", ids(&["identity"])),
    opt("revoked", B),
    opt("labels", STRINGS),
    opt("confidence", Ty::Integer { min: 0, max: 100 }),
    opt("lang", S),
    opt("external_references", Ty::List(&Ty::ExternalReference)),
    opt(
        "object_marking_refs",
        list_of_ids(&Ty::Identifier(&["marking-definition"])),
    ),
    opt("granular_markings", Ty::List(&Ty::GranularMarking)),
    opt("extensions", Ty::Extensions),
];

pub const SCO_COMMON: &[Prop] = &[
    req("type", S),
    opt("spec_version", S),
    req("id", ANY_ID),
    opt(
        "object_marking_refs",
        list_of_ids(&Ty::Identifier(&["marking-definition"])),
    ),
    opt("granular_markings", Ty::List(&Ty::GranularMarking)),
    opt("defanged", B),
    opt("extensions", Ty::Extensions),
];

pub const MARKING_DEFINITION: &[Prop] = &[
    req("type", S),
    req("spec_version", S),
    req("id", ANY_ID),
    req("created", T),
    opt("created_by_ref", ids(&["identity"])),
    opt("external_references", Ty::List(&Ty::ExternalReference)),
    opt(
        "object_marking_refs",
        list_of_ids(&Ty::Identifier(&["marking-definition"])),
    ),
    opt("granular_markings", Ty::List(&Ty::GranularMarking)),
    opt("extensions", Ty::Extensions),
    opt("name", S),
    opt("definition_type", S),
    opt("definition", Ty::Any),
];

/// The common properties that apply to an object: those of its kind; for a
/// custom type, those of an SDO if it has `created` or `modified` (it is a
/// custom domain object), else those of an SCO (a custom observable).
pub fn common_properties(kind: ObjectKind, type_name: &str, sdo_like: bool) -> &'static [Prop] {
    match (kind, type_name) {
        (_, "language-content") | (_, "extension-definition") => &[],
        (_, "marking-definition") => MARKING_DEFINITION,
        (ObjectKind::Sdo | ObjectKind::Sro, _) => SDO_COMMON,
        (ObjectKind::Sco, _) => SCO_COMMON,
        _ if sdo_like => SDO_COMMON,
        _ => SCO_COMMON,
    }
}

const SOFTWARE: &[&str] = &["software"];
const IDENTITY_OR_LOCATION: &[&str] = &["identity", "location"];

const EXTERNAL_REFERENCE: &[Prop] = &[
    req("source_name", S),
    opt("description", S),
    opt("url", S),
    opt("hashes", Ty::Hashes),
    opt("external_id", S),
];
pub const EXTERNAL_REFERENCE_PROPS: &[Prop] = EXTERNAL_REFERENCE;

pub const KILL_CHAIN_PHASE_PROPS: &[Prop] = &[req("kill_chain_name", S), req("phase_name", S)];

pub const GRANULAR_MARKING_PROPS: &[Prop] = &[
    opt("lang", S),
    opt("marking_ref", ids(&["marking-definition"])),
    req("selectors", STRINGS),
];

const MIME_PART: &[Prop] = &[
    opt("body", S),
    opt("body_raw_ref", ids(&["artifact", "file"])),
    opt("content_type", S),
    opt("content_disposition", S),
];

const REGISTRY_VALUE: &[Prop] = &[
    opt("name", S),
    opt("data", S),
    opt(
        "data_type",
        Ty::Enum(&[
            "REG_NONE",
            "REG_SZ",
            "REG_EXPAND_SZ",
            "REG_BINARY",
            "REG_DWORD",
            "REG_DWORD_BIG_ENDIAN",
            "REG_DWORD_LITTLE_ENDIAN",
            "REG_LINK",
            "REG_MULTI_SZ",
            "REG_RESOURCE_LIST",
            "REG_FULL_RESOURCE_DESCRIPTION",
            "REG_RESOURCE_REQUIREMENTS_LIST",
            "REG_QWORD",
            "REG_INVALID_TYPE",
        ]),
    ),
];

const ALTERNATE_DATA_STREAM: &[Prop] = &[
    req("name", S),
    opt("hashes", Ty::Hashes),
    opt("size", NON_NEGATIVE),
];

const PE_OPTIONAL_HEADER: &[Prop] = &[
    opt("magic_hex", Ty::Hex),
    opt("major_linker_version", ANY_INT),
    opt("minor_linker_version", ANY_INT),
    opt("size_of_code", NON_NEGATIVE),
    opt("size_of_initialized_data", NON_NEGATIVE),
    opt("size_of_uninitialized_data", NON_NEGATIVE),
    opt("address_of_entry_point", ANY_INT),
    opt("base_of_code", ANY_INT),
    opt("base_of_data", ANY_INT),
    opt("image_base", ANY_INT),
    opt("section_alignment", ANY_INT),
    opt("file_alignment", ANY_INT),
    opt("major_os_version", ANY_INT),
    opt("minor_os_version", ANY_INT),
    opt("major_image_version", ANY_INT),
    opt("minor_image_version", ANY_INT),
    opt("major_subsystem_version", ANY_INT),
    opt("minor_subsystem_version", ANY_INT),
    opt("win32_version_value_hex", Ty::Hex),
    opt("size_of_image", NON_NEGATIVE),
    opt("size_of_headers", NON_NEGATIVE),
    opt("checksum_hex", Ty::Hex),
    opt("subsystem_hex", Ty::Hex),
    opt("dll_characteristics_hex", Ty::Hex),
    opt("size_of_stack_reserve", NON_NEGATIVE),
    opt("size_of_stack_commit", NON_NEGATIVE),
    opt("size_of_heap_reserve", NON_NEGATIVE),
    opt("size_of_heap_commit", NON_NEGATIVE),
    opt("loader_flags_hex", Ty::Hex),
    opt("number_of_rva_and_sizes", ANY_INT),
    opt("hashes", Ty::Hashes),
];

const PE_SECTION: &[Prop] = &[
    req("name", S),
    opt("size", NON_NEGATIVE),
    opt(
        "entropy",
        Ty::Float {
            min: f64::MIN,
            max: f64::MAX,
        },
    ),
    opt("hashes", Ty::Hashes),
];

const X509_V3_EXTENSIONS: &[Prop] = &[
    opt("basic_constraints", S),
    opt("name_constraints", S),
    opt("policy_constraints", S),
    opt("key_usage", S),
    opt("extended_key_usage", S),
    opt("subject_key_identifier", S),
    opt("authority_key_identifier", S),
    opt("subject_alternative_name", S),
    opt("issuer_alternative_name", S),
    opt("subject_directory_attributes", S),
    opt("crl_distribution_points", S),
    opt("inhibit_any_policy", S),
    opt("private_key_usage_period_not_before", T),
    opt("private_key_usage_period_not_after", T),
    opt("certificate_policies", S),
    opt("policy_mappings", S),
];

macro_rules! types {
    ($($name:literal => $kind:ident [$($prop:expr),* $(,)?]),* $(,)?) => {
        pub const TYPES: &[TypeSpec] = &[
            $(TypeSpec { name: $name, kind: ObjectKind::$kind, props: &[$($prop),*] }),*
        ];
    };
}

const KCP: Ty = Ty::List(&Ty::KillChainPhase);
const PORT: Ty = Ty::Integer { min: 0, max: 65535 };

types! {
    "attack-pattern" => Sdo [req("name", S), opt("description", S), opt("aliases", STRINGS), opt("kill_chain_phases", KCP)],
    "campaign" => Sdo [req("name", S), opt("description", S), opt("aliases", STRINGS), opt("first_seen", T), opt("last_seen", T), opt("objective", S)],
    "course-of-action" => Sdo [req("name", S), opt("description", S), opt("action_type", S), opt("os_execution_envs", STRINGS), opt("action_bin", Ty::Binary), opt("action_reference", Ty::ExternalReference)],
    "grouping" => Sdo [opt("name", S), opt("description", S), req("context", Ty::OpenVocab), req("object_refs", Ty::List(&ANY_ID))],
    "identity" => Sdo [req("name", S), opt("description", S), opt("roles", STRINGS), opt("identity_class", Ty::OpenVocab), opt("sectors", STRINGS), opt("contact_information", S)],
    "incident" => Sdo [req("name", S), opt("description", S), opt("kill_chain_phases", KCP)],
    "indicator" => Sdo [opt("name", S), opt("description", S), opt("indicator_types", STRINGS), req("pattern", S), req("pattern_type", Ty::OpenVocab), opt("pattern_version", S), req("valid_from", T), opt("valid_until", T), opt("kill_chain_phases", KCP)],
    "infrastructure" => Sdo [req("name", S), opt("description", S), opt("infrastructure_types", STRINGS), opt("aliases", STRINGS), opt("kill_chain_phases", KCP), opt("first_seen", T), opt("last_seen", T)],
    "intrusion-set" => Sdo [req("name", S), opt("description", S), opt("aliases", STRINGS), opt("first_seen", T), opt("last_seen", T), opt("goals", STRINGS), opt("resource_level", Ty::OpenVocab), opt("primary_motivation", Ty::OpenVocab), opt("secondary_motivations", STRINGS)],
    "location" => Sdo [opt("name", S), opt("description", S), opt("latitude", Ty::Float { min: -90.0, max: 90.0 }), opt("longitude", Ty::Float { min: -180.0, max: 180.0 }), opt("precision", Ty::Float { min: 0.0, max: f64::MAX }), opt("region", Ty::OpenVocab), opt("country", S), opt("administrative_area", S), opt("city", S), opt("street_address", S), opt("postal_code", S)],
    "malware" => Sdo [opt("name", S), opt("description", S), opt("malware_types", STRINGS), req("is_family", B), opt("aliases", STRINGS), opt("kill_chain_phases", KCP), opt("first_seen", T), opt("last_seen", T), opt("operating_system_refs", Ty::List(&ids(SOFTWARE))), opt("architecture_execution_envs", STRINGS), opt("implementation_languages", STRINGS), opt("capabilities", STRINGS), opt("sample_refs", Ty::List(&ids(&["artifact", "file"])))],
    "malware-analysis" => Sdo [req("product", S), opt("version", S), opt("host_vm_ref", ids(SOFTWARE)), opt("operating_system_ref", ids(SOFTWARE)), opt("installed_software_refs", Ty::List(&ids(SOFTWARE))), opt("configuration_version", S), opt("modules", STRINGS), opt("analysis_engine_version", S), opt("analysis_definition_version", S), opt("submitted", T), opt("analysis_started", T), opt("analysis_ended", T), opt("result_name", S), opt("result", Ty::OpenVocab), opt("analysis_sco_refs", Ty::List(&ANY_ID)), opt("sample_ref", ids(&["file", "network-traffic", "artifact"]))],
    "note" => Sdo [opt("abstract", S), req("content", S), opt("authors", STRINGS), req("object_refs", Ty::List(&ANY_ID))],
    "observed-data" => Sdo [req("first_observed", T), req("last_observed", T), req("number_observed", Ty::Integer { min: 1, max: 999_999_999 }), opt("objects", Ty::Any), opt("object_refs", Ty::List(&ANY_ID))],
    "opinion" => Sdo [opt("explanation", S), opt("authors", STRINGS), req("opinion", Ty::Enum(&["strongly-disagree", "disagree", "neutral", "agree", "strongly-agree"])), req("object_refs", Ty::List(&ANY_ID))],
    "report" => Sdo [req("name", S), opt("description", S), opt("report_types", STRINGS), req("published", T), req("object_refs", Ty::List(&ANY_ID))],
    "threat-actor" => Sdo [req("name", S), opt("description", S), opt("threat_actor_types", STRINGS), opt("aliases", STRINGS), opt("first_seen", T), opt("last_seen", T), opt("roles", STRINGS), opt("goals", STRINGS), opt("sophistication", Ty::OpenVocab), opt("resource_level", Ty::OpenVocab), opt("primary_motivation", Ty::OpenVocab), opt("secondary_motivations", STRINGS), opt("personal_motivations", STRINGS)],
    "tool" => Sdo [req("name", S), opt("description", S), opt("tool_types", STRINGS), opt("aliases", STRINGS), opt("kill_chain_phases", KCP), opt("tool_version", S)],
    "vulnerability" => Sdo [req("name", S), opt("description", S)],

    "relationship" => Sro [req("relationship_type", S), opt("description", S), req("source_ref", ANY_ID), req("target_ref", ANY_ID), opt("start_time", T), opt("stop_time", T)],
    "sighting" => Sro [opt("description", S), opt("first_seen", T), opt("last_seen", T), opt("count", Ty::Integer { min: 0, max: 999_999_999 }), req("sighting_of_ref", ANY_ID), opt("observed_data_refs", Ty::List(&ids(&["observed-data"]))), opt("where_sighted_refs", Ty::List(&ids(IDENTITY_OR_LOCATION))), opt("summary", B)],

    "artifact" => Sco [opt("mime_type", S), opt("payload_bin", Ty::Binary), opt("url", S), opt("hashes", Ty::Hashes), opt("encryption_algorithm", Ty::Enum(&["AES-256-GCM", "ChaCha20-Poly1305", "mime-type-indicated"])), opt("decryption_key", S)],
    "autonomous-system" => Sco [req("number", NON_NEGATIVE), opt("name", S), opt("rir", S)],
    "directory" => Sco [req("path", S), opt("path_enc", S), opt("ctime", T), opt("mtime", T), opt("atime", T), opt("contains_refs", Ty::List(&ids(&["file", "directory"])))],
    "domain-name" => Sco [req("value", S), opt("resolves_to_refs", Ty::List(&ids(&["ipv4-addr", "ipv6-addr", "domain-name"])))],
    "email-addr" => Sco [req("value", S), opt("display_name", S), opt("belongs_to_ref", ids(&["user-account"]))],
    "email-message" => Sco [req("is_multipart", B), opt("date", T), opt("content_type", S), opt("from_ref", ids(&["email-addr"])), opt("sender_ref", ids(&["email-addr"])), opt("to_refs", Ty::List(&ids(&["email-addr"]))), opt("cc_refs", Ty::List(&ids(&["email-addr"]))), opt("bcc_refs", Ty::List(&ids(&["email-addr"]))), opt("message_id", S), opt("subject", S), opt("received_lines", STRINGS), opt("additional_header_fields", Ty::Any), opt("body", S), opt("body_multipart", Ty::List(&Ty::Object(MIME_PART))), opt("raw_email_ref", ids(&["artifact"]))],
    "file" => Sco [opt("hashes", Ty::Hashes), opt("size", NON_NEGATIVE), opt("name", S), opt("name_enc", S), opt("magic_number_hex", Ty::Hex), opt("mime_type", S), opt("ctime", T), opt("mtime", T), opt("atime", T), opt("parent_directory_ref", ids(&["directory"])), opt("contains_refs", Ty::List(&ANY_ID)), opt("content_ref", ids(&["artifact"]))],
    "ipv4-addr" => Sco [req("value", S), opt("resolves_to_refs", Ty::List(&ids(&["mac-addr"]))), opt("belongs_to_refs", Ty::List(&ids(&["autonomous-system"])))],
    "ipv6-addr" => Sco [req("value", S), opt("resolves_to_refs", Ty::List(&ids(&["mac-addr"]))), opt("belongs_to_refs", Ty::List(&ids(&["autonomous-system"])))],
    "mac-addr" => Sco [req("value", S)],
    "mutex" => Sco [req("name", S)],
    "network-traffic" => Sco [opt("start", T), opt("end", T), opt("is_active", B), opt("src_ref", ids(&["ipv4-addr", "ipv6-addr", "mac-addr", "domain-name"])), opt("dst_ref", ids(&["ipv4-addr", "ipv6-addr", "mac-addr", "domain-name"])), opt("src_port", PORT), opt("dst_port", PORT), req("protocols", STRINGS), opt("src_byte_count", NON_NEGATIVE), opt("dst_byte_count", NON_NEGATIVE), opt("src_packets", NON_NEGATIVE), opt("dst_packets", NON_NEGATIVE), opt("ipfix", Ty::Dictionary), opt("src_payload_ref", ids(&["artifact"])), opt("dst_payload_ref", ids(&["artifact"])), opt("encapsulates_refs", Ty::List(&ids(&["network-traffic"]))), opt("encapsulated_by_ref", ids(&["network-traffic"]))],
    "process" => Sco [opt("is_hidden", B), opt("pid", ANY_INT), opt("created_time", T), opt("cwd", S), opt("command_line", S), opt("environment_variables", Ty::Dictionary), opt("opened_connection_refs", Ty::List(&ids(&["network-traffic"]))), opt("creator_user_ref", ids(&["user-account"])), opt("image_ref", ids(&["file"])), opt("parent_ref", ids(&["process"])), opt("child_refs", Ty::List(&ids(&["process"])))],
    "software" => Sco [req("name", S), opt("cpe", S), opt("swid", S), opt("languages", STRINGS), opt("vendor", S), opt("version", S)],
    "url" => Sco [req("value", S)],
    "user-account" => Sco [opt("user_id", S), opt("credential", S), opt("account_login", S), opt("account_type", Ty::OpenVocab), opt("display_name", S), opt("is_service_account", B), opt("is_privileged", B), opt("can_escalate_privs", B), opt("is_disabled", B), opt("account_created", T), opt("account_expires", T), opt("credential_last_changed", T), opt("account_first_login", T), opt("account_last_login", T)],
    "windows-registry-key" => Sco [opt("key", S), opt("values", Ty::List(&Ty::Object(REGISTRY_VALUE))), opt("modified_time", T), opt("creator_user_ref", ids(&["user-account"])), opt("number_of_subkeys", NON_NEGATIVE)],
    "x509-certificate" => Sco [opt("is_self_signed", B), opt("hashes", Ty::Hashes), opt("version", S), opt("serial_number", S), opt("signature_algorithm", S), opt("issuer", S), opt("validity_not_before", T), opt("validity_not_after", T), opt("subject", S), opt("subject_public_key_algorithm", S), opt("subject_public_key_modulus", S), opt("subject_public_key_exponent", NON_NEGATIVE), opt("x509_v3_extensions", Ty::Object(X509_V3_EXTENSIONS))],

    "marking-definition" => Meta [],
    "language-content" => Meta [req("type", S), req("spec_version", S), req("id", ANY_ID), req("created", TM), req("modified", TM), opt("created_by_ref", ids(&["identity"])), opt("revoked", B), opt("labels", STRINGS), opt("confidence", Ty::Integer { min: 0, max: 100 }), opt("external_references", Ty::List(&Ty::ExternalReference)), opt("object_marking_refs", Ty::List(&ids(&["marking-definition"]))), opt("granular_markings", Ty::List(&Ty::GranularMarking)), opt("extensions", Ty::Extensions), req("object_ref", ANY_ID), opt("object_modified", T), req("contents", Ty::Any)],
    "extension-definition" => Meta [req("type", S), req("spec_version", S), req("id", ANY_ID), req("created", TM), req("modified", TM), req("created_by_ref", ids(&["identity"])), opt("revoked", B), opt("labels", STRINGS), opt("external_references", Ty::List(&Ty::ExternalReference)), opt("object_marking_refs", Ty::List(&ids(&["marking-definition"]))), opt("granular_markings", Ty::List(&Ty::GranularMarking)), req("name", S), opt("description", S), req("schema", S), req("version", S), req("extension_types", Ty::List(&Ty::Enum(&["new-sdo", "new-sco", "new-sro", "property-extension", "toplevel-property-extension"]))), opt("extension_properties", STRINGS)],
}

/// The table for a type the specification defines.
pub fn type_spec(name: &str) -> Option<&'static TypeSpec> {
    TYPES.iter().find(|t| t.name == name)
}

pub const EXTENSIONS: &[ExtensionSpec] = &[
    ExtensionSpec {
        name: "archive-ext",
        object_type: "file",
        props: &[
            req("contains_refs", Ty::List(&ids(&["file", "directory"]))),
            opt("comment", S),
        ],
    },
    ExtensionSpec {
        name: "ntfs-ext",
        object_type: "file",
        props: &[
            opt("sid", S),
            opt(
                "alternate_data_streams",
                Ty::List(&Ty::Object(ALTERNATE_DATA_STREAM)),
            ),
        ],
    },
    ExtensionSpec {
        name: "pdf-ext",
        object_type: "file",
        props: &[
            opt("version", S),
            opt("is_optimized", B),
            opt("document_info_dict", Ty::Dictionary),
            opt("pdfid0", S),
            opt("pdfid1", S),
        ],
    },
    ExtensionSpec {
        name: "raster-image-ext",
        object_type: "file",
        props: &[
            opt("image_height", ANY_INT),
            opt("image_width", ANY_INT),
            opt("bits_per_pixel", ANY_INT),
            opt("exif_tags", Ty::Dictionary),
        ],
    },
    ExtensionSpec {
        name: "windows-pebinary-ext",
        object_type: "file",
        props: &[
            req("pe_type", Ty::OpenVocab),
            opt("imphash", S),
            opt("machine_hex", Ty::Hex),
            opt("number_of_sections", NON_NEGATIVE),
            opt("time_date_stamp", T),
            opt("pointer_to_symbol_table_hex", Ty::Hex),
            opt("number_of_symbols", NON_NEGATIVE),
            opt("size_of_optional_header", NON_NEGATIVE),
            opt("characteristics_hex", Ty::Hex),
            opt("file_header_hashes", Ty::Hashes),
            opt("optional_header", Ty::Object(PE_OPTIONAL_HEADER)),
            opt("sections", Ty::List(&Ty::Object(PE_SECTION))),
        ],
    },
    ExtensionSpec {
        name: "http-request-ext",
        object_type: "network-traffic",
        props: &[
            req("request_method", S),
            req("request_value", S),
            opt("request_version", S),
            opt("request_header", Ty::Dictionary),
            opt("message_body_length", NON_NEGATIVE),
            opt("message_body_data_ref", ids(&["artifact"])),
        ],
    },
    ExtensionSpec {
        name: "icmp-ext",
        object_type: "network-traffic",
        props: &[req("icmp_type_hex", Ty::Hex), req("icmp_code_hex", Ty::Hex)],
    },
    ExtensionSpec {
        name: "socket-ext",
        object_type: "network-traffic",
        props: &[
            req(
                "address_family",
                Ty::Enum(&[
                    "AF_UNSPEC",
                    "AF_INET",
                    "AF_IPX",
                    "AF_APPLETALK",
                    "AF_NETBIOS",
                    "AF_INET6",
                    "AF_IRDA",
                    "AF_BTH",
                ]),
            ),
            opt("is_blocking", B),
            opt("is_listening", B),
            opt("options", Ty::Dictionary),
            opt(
                "socket_type",
                Ty::Enum(&[
                    "SOCK_STREAM",
                    "SOCK_DGRAM",
                    "SOCK_RAW",
                    "SOCK_RDM",
                    "SOCK_SEQPACKET",
                ]),
            ),
            opt("socket_descriptor", NON_NEGATIVE),
            opt("socket_handle", ANY_INT),
        ],
    },
    ExtensionSpec {
        name: "tcp-ext",
        object_type: "network-traffic",
        props: &[opt("src_flags_hex", Ty::Hex), opt("dst_flags_hex", Ty::Hex)],
    },
    ExtensionSpec {
        name: "windows-process-ext",
        object_type: "process",
        props: &[
            opt("aslr_enabled", B),
            opt("dep_enabled", B),
            opt("priority", S),
            opt("owner_sid", S),
            opt("window_title", S),
            opt("startup_info", Ty::Dictionary),
            opt(
                "integrity_level",
                Ty::Enum(&["low", "medium", "high", "system"]),
            ),
        ],
    },
    ExtensionSpec {
        name: "windows-service-ext",
        object_type: "process",
        props: &[
            opt("service_name", S),
            opt("descriptions", STRINGS),
            opt("display_name", S),
            opt("group_name", S),
            opt(
                "start_type",
                Ty::Enum(&[
                    "SERVICE_AUTO_START",
                    "SERVICE_BOOT_START",
                    "SERVICE_DEMAND_START",
                    "SERVICE_DISABLED",
                    "SERVICE_SYSTEM_ALERT",
                ]),
            ),
            opt("service_dll_refs", Ty::List(&ids(&["file"]))),
            opt(
                "service_type",
                Ty::Enum(&[
                    "SERVICE_KERNEL_DRIVER",
                    "SERVICE_FILE_SYSTEM_DRIVER",
                    "SERVICE_WIN32_OWN_PROCESS",
                    "SERVICE_WIN32_SHARE_PROCESS",
                ]),
            ),
            opt(
                "service_status",
                Ty::Enum(&[
                    "SERVICE_CONTINUE_PENDING",
                    "SERVICE_PAUSE_PENDING",
                    "SERVICE_PAUSED",
                    "SERVICE_RUNNING",
                    "SERVICE_START_PENDING",
                    "SERVICE_STOP_PENDING",
                    "SERVICE_STOPPED",
                ]),
            ),
        ],
    },
    ExtensionSpec {
        name: "unix-account-ext",
        object_type: "user-account",
        props: &[
            opt("gid", ANY_INT),
            opt("groups", STRINGS),
            opt("home_dir", S),
            opt("shell", S),
        ],
    },
];

pub fn extension_spec(name: &str) -> Option<&'static ExtensionSpec> {
    EXTENSIONS.iter().find(|e| e.name == name)
}
