using Orchestrator.Qcow2.Chain;
using Orchestrator.Qcow2.IO;

namespace Orchestrator.Qcow2.Stream;

/// <summary>
/// The offline stream (qemu-img rebase's job, done as block-stream does it): copy into the top what it lacks from the
/// images above the base, flush, then rewrite the top's backing file to the base in one header write (the commit point).
/// </summary>
public static class OfflineStream
{
    public sealed record Options
    {
        /// <summary>The base image (stays as the new backing file); null streams everything and leaves no backing file.</summary>
        public string? BasePath { get; init; }

        /// <summary>The string written into the header instead of the base's path relative to the top (QEMU's backing-file).</summary>
        public string? BackingFileString { get; init; }

        public CacheMode TopCache { get; init; } = CacheMode.PageCache;

        public CacheMode BackingCache { get; init; } = CacheMode.PageCache;

        public int BatchBytes { get; init; } = 64 * 1024 * 1024;

        /// <summary>Bytes copied between commits; offline, a crash costs only a re-run, so commits can be rare.</summary>
        public long CheckpointBytes { get; init; } = 1024L * 1024 * 1024;
    }

    public sealed record Result(long BytesCopied, long Length, string? NewBackingFile);

    public static Result Run(string topPath, Options options, IProgress<StreamProgress>? progress = null, CancellationToken cancel = default)
    {
        if (options.BasePath is null && options.BackingFileString is not null)
        {
            throw new Qcow2Exception(Qcow2ErrorKind.InvalidArgument, "a backing file string cannot be given when streaming the whole chain (no base)");
        }

        using var chain = ImageChain.Open(topPath, new ChainOpenOptions
        {
            WritableTop = true,
            TopCache = options.TopCache,
            BackingCache = options.BackingCache,
        });
        var baseIndex = ResolveBase(chain, options.BasePath);
        using var copier = new StreamCopier(chain, baseIndex, options.BatchBytes, checkpointBytes: options.CheckpointBytes);
        copier.Run(progress, cancel);

        string? newBacking = null;
        if (baseIndex < chain.Images.Count)
        {
            newBacking = options.BackingFileString ?? BackingPath.RelativeName(chain.DisplayNames[0], chain.DisplayNames[baseIndex]);
        }

        chain.Top.SetBackingFile(newBacking, newBacking is null ? null : "qcow2");
        return new Result(copier.BytesCopied, copier.Length, newBacking);
    }

    /// <summary>The chain index of the base; the chain's length when there is none.</summary>
    public static int ResolveBase(ImageChain chain, string? basePath)
    {
        if (basePath is null)
        {
            return chain.Images.Count;
        }

        var index = chain.IndexOf(basePath);
        if (index < 0)
        {
            throw new Qcow2Exception(Qcow2ErrorKind.InvalidArgument,
                $"base '{basePath}' is not in the backing chain of '{chain.DisplayNames[0]}' (chain: {string.Join(" -> ", chain.DisplayNames)})");
        }

        if (index == 0)
        {
            throw new Qcow2Exception(Qcow2ErrorKind.InvalidArgument, $"base '{basePath}' is the image being streamed into; it must be below it");
        }

        return index;
    }
}
