using System.Buffers.Binary;
using Orchestrator.Qcow2.Format;

namespace Orchestrator.Qcow2;

/// <summary>
/// The dirty bit as our "not closed cleanly" record, so a clean open needs no full refcount check. Before the first
/// metadata write of a session (a refcount block, an L2 or L1 entry) the bit is written and flushed; a clean close
/// flushes everything and clears it. A kill in between leaves it set, and the next writable open (ours, or QEMU's,
/// which repairs dirty images the same way) checks the image and gives back what the kill leaked. Version 2 images
/// have no such field; they are checked at every writable open instead.
/// </summary>
public sealed partial class Qcow2Image
{
    // The bit was set by this session (or found set and repaired) and this session may clear it.
    private bool _markedDirty;

    // Something failed after clusters were counted (a write or a commit threw): what the failure leaked is given back
    // by the next open's check, so the bit stays set at close.
    private bool _keepDirty;

    // Copy reservations neither staged nor abandoned: their clusters are counted and nothing references them yet.
    private int _openReservations;

    /// <summary>Sets the dirty bit (8 bytes at its field, then a flush) unless it is set; a no-op on version 2.</summary>
    private void MarkDirty()
    {
        if (!Writable || Header.IsDirty || Header.Version < 3)
        {
            return;
        }

        WriteIncompatibleFeatures(Header.IncompatibleFeatures | Qcow2Constants.IncompatDirty);

        // Durable before any refcount it stands for: a power loss must not keep the refcounts and lose the bit.
        _file.Flush();
        _markedDirty = true;
    }

    /// <summary>Flushes all metadata, then clears the dirty bit and flushes again.</summary>
    private void MarkClean()
    {
        _file.Flush();
        WriteIncompatibleFeatures(Header.IncompatibleFeatures & ~Qcow2Constants.IncompatDirty);
        _file.Flush();
        _markedDirty = false;
    }

    /// <summary>Whether a close may clear the bit: this session set it, nothing failed, no reservation is open.</summary>
    private bool MayMarkClean => _markedDirty && !_keepDirty && _openReservations == 0;

    /// <summary>QEMU's qcow2_mark_dirty writes only this field; so do we, leaving the rest of the header cluster as it was.</summary>
    private void WriteIncompatibleFeatures(ulong features)
    {
        var buffer = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(buffer, features);
        _file.Write(buffer, Qcow2Constants.IncompatibleFeaturesOffset);
        Header = Header with { IncompatibleFeatures = features };
    }
}
