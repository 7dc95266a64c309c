namespace Orchestrator.Qcow2.Tests.Hostile;

/// <summary>What a hostile-input run aims its mutations at.</summary>
public enum MutationFamily
{
    /// <summary>Random bit flips anywhere in the header fields, extensions and backing name.</summary>
    HeaderBytes,

    /// <summary>One header field set to a nasty value: huge, unaligned, past the end of the file, zero.</summary>
    HeaderFields,

    /// <summary>Extension lengths and types, the backing name and its offset/size.</summary>
    ExtensionsAndBackingName,

    /// <summary>Bit flips and nasty entries in the L1 table.</summary>
    L1Table,

    /// <summary>Bit flips and nasty entries (data, zero, compressed) in L2 tables.</summary>
    L2Tables,

    /// <summary>Bit flips and nasty values in the refcount table and refcount blocks.</summary>
    Refcounts,

    /// <summary>Internal snapshot tables, real or forged.</summary>
    Snapshots,

    /// <summary>Whole clusters copied over, zeroed or filled; structures pointing at each other.</summary>
    Structural,

    /// <summary>Truncations at random lengths, including 0 and less than a header, and appended garbage.</summary>
    Truncation,

    /// <summary>Two to five mutations from the families above, sometimes followed by a truncation.</summary>
    Combined,
}
