using System.CommandLine;
using System.Text;
using System.Text.Json;
using Orchestrator.ImageCommands.Parsing;
using Orchestrator.Qcow2;
using Orchestrator.Qcow2.Chain;

namespace Orchestrator.ImageCommands.Verbs;

/// <summary>orchestrator image info [--backing-chain] [--output json|human] [-U] FILE: qemu-img info's keys and values.</summary>
public static class ImageInfoCommand
{
    public static Command Build() => new Command("info", "Show an image's header, as qemu-img info").With(
        Opt.Choice("--output", "output format (default human)", ["json", "human"]),
        ImageOptions.Format(),
        Opt.Switch("--backing-chain", "show every image of the backing chain, active image first"),
        ImageOptions.ForceShare(),
        Opt.Positional("FILE", "the image")).Runs(Run);

    private static int Run(CommandLine cl)
    {
        cl.LimitPositional(1);
        var file = cl.RequirePositional(0, "image file name");
        var output = cl.Value("--output") ?? "human";
        if (output is not ("json" or "human"))
        {
            throw new UsageException($"--output must be json or human, not '{output}'");
        }

        var infos = new List<ImageInfo>();
        if (cl.Has("--backing-chain"))
        {
            using var chain = ImageChain.Open(file, new ChainOpenOptions { Locking = !cl.Has("-U") });
            for (var i = 0; i < chain.Images.Count; i++)
            {
                infos.Add(ImageInfo.From(chain.Images[i], chain.DisplayNames[i]));
            }
        }
        else
        {
            using var image = Qcow2Image.Open(file, ImageOpenOptions.ReadOnly() with { Locking = !cl.Has("-U") });
            infos.Add(ImageInfo.From(image, file));
        }

        Console.WriteLine(output == "json" ? ToJson(infos, cl.Has("--backing-chain")) : ToHuman(infos));
        return 0;
    }

    private static string ToJson(List<ImageInfo> infos, bool asArray)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, IndentSize = 4 }))
        {
            if (asArray)
            {
                writer.WriteStartArray();
            }

            foreach (var info in infos)
            {
                info.WriteJson(writer);
            }

            if (asArray)
            {
                writer.WriteEndArray();
            }
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static string ToHuman(List<ImageInfo> infos) => string.Join("\n\n", infos.Select(i => i.ToHuman()));
}
