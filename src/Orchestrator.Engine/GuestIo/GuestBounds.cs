using Orchestrator.Qcow2;
using Orchestrator.Qcow2.Chain;

namespace Orchestrator.Engine.GuestIo;

/// <summary>The one range check of every guest request: inside the disk, no overflow, an error naming the operation.</summary>
internal static class GuestBounds
{
    /// <exception cref="Qcow2Exception">OutOfBounds: the range is not inside the chain's virtual size.</exception>
    public static void RequireInside(ImageChain chain, long offset, long length, string operation)
    {
        if (offset < 0 || length < 0 || offset > chain.VirtualSize - length)
        {
            throw new Qcow2Exception(Qcow2ErrorKind.OutOfBounds,
                $"{operation} of {length} bytes at {offset} is outside the virtual size {chain.VirtualSize}", chain.Top.Path, offset, operation);
        }
    }
}
