namespace Orchestrator.Qcow2.Stream;

/// <summary>
/// Progress as QEMU reports it: <see cref="Offset"/> of <see cref="Length"/> is address space scanned (skipped ranges count too);
/// <see cref="BytesCopied"/> is what was actually written into the top.
/// </summary>
public readonly record struct StreamProgress(long Offset, long Length, long BytesCopied);
