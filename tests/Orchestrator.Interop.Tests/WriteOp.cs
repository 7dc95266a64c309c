using System.Globalization;
using Orchestrator.Qcow2.Chain;

namespace Orchestrator.Interop.Tests;

/// <summary>One guest write, applied identically through our <see cref="ImageChain"/> and through qemu-io.</summary>
public sealed record WriteOp(bool Zeroes, long Offset, long Length, byte Pattern, string Why)
{
    /// <summary>The qemu-io command; byte granular offsets and lengths are fine for qemu-io.</summary>
    public string ToQemuIo() => Zeroes
        ? string.Create(CultureInfo.InvariantCulture, $"write -z {Offset} {Length}")
        : string.Create(CultureInfo.InvariantCulture, $"write -P 0x{Pattern:x2} {Offset} {Length}");

    public void ApplyTo(ImageChain chain)
    {
        if (Zeroes)
        {
            chain.WriteZeroes(Offset, Length);
            return;
        }

        var data = new byte[Length];
        Array.Fill(data, Pattern);
        chain.Write(Offset, data);
    }

    public override string ToString() => $"{ToQemuIo()} ({Why})";
}
