namespace Orchestrator.Qcow2.Format;

/// <summary>Numbers from QEMU's docs/interop/qcow2.txt, named after the specification.</summary>
internal static class Qcow2Constants
{
    /// <summary>"QFI\xfb": the magic that starts every qcow2 image.</summary>
    public const uint Magic = 0x514649FB;

    public const int MinClusterBits = 9;
    public const int MaxClusterBits = 21;
    public const int DefaultClusterBits = 16;

    /// <summary>Size of the version 2 header; version 3 adds fields up to byte 104.</summary>
    public const int V2HeaderLength = 72;
    public const int V3MinHeaderLength = 104;

    /// <summary>QEMU writes 112 bytes: the v3 header plus compression_type and padding.</summary>
    public const int V3WrittenHeaderLength = 112;

    /// <summary>"backing_file_size: Length of the backing file name in bytes. Must not be longer than 1023 bytes."</summary>
    public const int MaxBackingFileNameLength = 1023;

    /// <summary>QEMU refuses L1 tables larger than 32 MiB (QCOW_MAX_L1_SIZE).</summary>
    public const long MaxL1TableBytes = 32L * 1024 * 1024;

    /// <summary>QEMU refuses refcount tables larger than 8 MiB (QCOW_MAX_REFTABLE_SIZE).</summary>
    public const long MaxRefcountTableBytes = 8L * 1024 * 1024;

    /// <summary>QEMU's QCOW_MAX_SNAPSHOTS.</summary>
    public const uint MaxSnapshots = 65536;

    /// <summary>Bits 9-55 of L1/L2 entries hold a host offset (cluster aligned for standard clusters).</summary>
    public const ulong OffsetMask = 0x00FF_FFFF_FFFF_FE00UL;

    /// <summary>"Bit 63: 0 for a cluster that is unused or requires COW, 1 if its refcount is exactly one."</summary>
    public const ulong CopiedFlag = 1UL << 63;

    /// <summary>L2 bit 62: "0 for standard clusters, 1 for compressed clusters".</summary>
    public const ulong CompressedFlag = 1UL << 62;

    /// <summary>Standard L2 bit 0: "If set to 1, the cluster reads as all zeros" (version 3).</summary>
    public const ulong ZeroFlag = 1UL;

    /// <summary>L1 entry bits 1-8 and 56-62 are reserved and must be zero.</summary>
    public const ulong L1ReservedMask = 0x7F00_0000_0000_01FEUL;

    /// <summary>Standard L2 entry bits 1-8 and 56-61 are reserved and must be zero.</summary>
    public const ulong L2StandardReservedMask = 0x3F00_0000_0000_01FEUL;

    /// <summary>Refcount table entry bits 0-8 are reserved and must be zero.</summary>
    public const ulong RefcountTableReservedMask = 0x1FFUL;

    /// <summary>Byte offset of the version 3 header's incompatible_features field (bytes 72-79).</summary>
    public const int IncompatibleFeaturesOffset = 72;

    // Incompatible feature bits.
    public const ulong IncompatDirty = 1UL << 0;
    public const ulong IncompatCorrupt = 1UL << 1;
    public const ulong IncompatExternalDataFile = 1UL << 2;
    public const ulong IncompatCompressionType = 1UL << 3;
    public const ulong IncompatExtendedL2 = 1UL << 4;
    public const ulong IncompatKnownMask = 0x1F;

    // Compatible feature bits.
    public const ulong CompatLazyRefcounts = 1UL << 0;

    // Autoclear feature bits.
    public const ulong AutoclearBitmaps = 1UL << 0;

    // Header extension types.
    public const uint ExtEnd = 0x00000000;
    public const uint ExtBackingFormat = 0xE2792ACA;
    public const uint ExtFeatureNameTable = 0x6803F857;
    public const uint ExtBitmaps = 0x23852875;
    public const uint ExtFullDiskEncryption = 0x0537BE77;
    public const uint ExtExternalDataFile = 0x44415441;

    /// <summary>Deepest backing chain we open; QEMU has no fixed limit, but a deeper chain is almost certainly a mistake or an attack.</summary>
    public const int MaxChainDepth = 256;
}
