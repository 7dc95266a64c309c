using Orchestrator.Qcow2.IO;

namespace Orchestrator.Qcow2;

/// <summary>How to open one image.</summary>
public sealed record ImageOpenOptions
{
    public bool Writable { get; init; }

    public CacheMode Cache { get; init; } = CacheMode.PageCache;

    /// <summary>Asked about the file before it is opened and again about the opened descriptor; null allows any file.</summary>
    public IFileConfinement? Confinement { get; init; }

    /// <summary>
    /// Hold QEMU-compatible image locks while open (on by default, as QEMU's locking=auto): a QEMU, qemu-nbd or another
    /// node cannot then open the image for writing, and this open fails while one of them writes it.
    /// </summary>
    public bool Locking { get; init; } = true;

    /// <summary>
    /// On a writable open, check the metadata when the image may need it: a version 2 image, which cannot record
    /// whether it was closed cleanly. A version 3 image says so with its dirty bit; a dirty image is always checked
    /// (and its leaks repaired) before it is written, whatever this says. A clean version 3 image is not checked, as
    /// QEMU does not check it: its refcounts are never below the references (the write order).
    /// </summary>
    public bool CheckOnWritableOpen { get; init; } = true;

    /// <summary>On a writable open, always run the full check and give back leaked clusters (what `image check -r leaks` does).</summary>
    public bool RepairLeaksOnOpen { get; init; }

    /// <summary>
    /// Leave the writes of a writable open (leak repair, autoclear) to <see cref="Qcow2Image.CompleteWritableOpen"/>:
    /// a chain calls it once every backing file has opened, so a refused open never changes the file.
    /// </summary>
    internal bool DeferWritePreparation { get; init; }

    public static ImageOpenOptions ReadOnly(CacheMode cache = CacheMode.PageCache) => new() { Cache = cache };

    public static ImageOpenOptions ReadWrite(CacheMode cache = CacheMode.PageCache) => new() { Writable = true, Cache = cache };
}
