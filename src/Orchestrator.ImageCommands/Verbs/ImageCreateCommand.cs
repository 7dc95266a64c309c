using System.CommandLine;
using Orchestrator.ImageCommands.Parsing;
using Orchestrator.Qcow2;
using Orchestrator.Qcow2.Chain;

namespace Orchestrator.ImageCommands.Verbs;

/// <summary>orchestrator image create -f qcow2 [-o cluster_size=N,compat=1.1] [-b BACKING -F qcow2] [-t none] FILE [SIZE]</summary>
public static class ImageCreateCommand
{
    public static Command Build() => new Command("create", "Create a qcow2 image, as qemu-img create: FILE of SIZE, or of its backing file's size").With(
        ImageOptions.Format(),
        Opt.Value("-o", "OPTIONS", "cluster_size=N, compat=1.1|0.10, refcount_bits=16 (comma-separated)"),
        Opt.Value("-b", "BACKING", "backing file (relative names are resolved from the new image's folder)"),
        Opt.Value("-F", "qcow2", "backing file format (only qcow2)"),
        Opt.Choice("-t", "cache mode for writing the image (default writeback)", CacheOption.Modes),
        Opt.Switch("-q", "quiet: print nothing on success"),
        Opt.Positional("FILE", "the image to create (an existing file is never overwritten)"),
        Opt.Positional("SIZE", "virtual size with an optional k, M, G, T suffix")).Runs(Run);

    private static int Run(CommandLine cl)
    {
        cl.LimitPositional(2);
        var format = cl.Value("-f") ?? "qcow2";
        if (format != "qcow2")
        {
            throw new UsageException($"format '{format}' is not supported (only qcow2)");
        }

        var file = cl.RequirePositional(0, "image file name");
        var backing = cl.Value("-b");
        var backingFormat = cl.Value("-F");
        if (backing is not null && backingFormat is not null && backingFormat != "qcow2")
        {
            throw new UsageException($"backing format '{backingFormat}' is not supported (only qcow2)");
        }

        long size;
        if (cl.Positional.Count > 1)
        {
            size = SizeParser.Parse(cl.Positional[1], "image size");
        }
        else if (backing is not null)
        {
            // Like qemu-img: without a size, the new image takes the backing file's virtual size.
            using var backingImage = Qcow2Image.Open(BackingPath.Combine(file, backing), ImageOpenOptions.ReadOnly());
            size = backingImage.VirtualSize;
        }
        else
        {
            throw new UsageException("missing image size (or a backing file to take it from)");
        }

        var options = new ImageCreateOptions
        {
            Size = size,
            BackingFile = backing,
            BackingFormat = backing is null ? null : "qcow2",
            Cache = CacheOption.Parse(cl.Value("-t"), "-t"),
        };
        options = ApplyCreateOptions(options, cl.Value("-o"));
        if (backing is not null && !File.Exists(BackingPath.Combine(file, backing)))
        {
            throw new UsageException($"backing file '{backing}' does not exist (relative names are resolved from the new image's folder)");
        }

        using var image = Qcow2Image.Create(file, options);
        if (!cl.Has("-q"))
        {
            Console.WriteLine($"Formatting '{file}', fmt=qcow2 cluster_size={options.ClusterSize} compat={options.Compat} size={size}"
                + (backing is null ? "" : $" backing_file={backing} backing_fmt=qcow2"));
        }

        return 0;
    }

    private static int ClusterSize(string text)
    {
        var value = SizeParser.Parse(text, "cluster_size");
        return value <= int.MaxValue
            ? (int)value
            : throw new UsageException($"cluster_size {text} must be a power of two between 512 and 2097152 (2 MiB)");
    }

    private static ImageCreateOptions ApplyCreateOptions(ImageCreateOptions options, string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return options;
        }

        foreach (var pair in text.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = pair.Split('=', 2);
            if (parts.Length != 2)
            {
                throw new UsageException($"invalid -o option '{pair}' (expected name=value)");
            }

            options = parts[0] switch
            {
                "cluster_size" => options with { ClusterSize = ClusterSize(parts[1]) },
                "compat" => options with { Compat = parts[1] },
                "refcount_bits" when parts[1] == "16" => options,
                "refcount_bits" => throw new UsageException("only refcount_bits=16 is supported when creating images"),
                _ => throw new UsageException($"unknown -o option '{parts[0]}' (supported: cluster_size, compat, refcount_bits=16)"),
            };
        }

        return options;
    }
}
