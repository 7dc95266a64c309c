using Orchestrator.Testing;

namespace Orchestrator.Interop.Tests;

/// <summary>Copies of a built chain in another folder, backing names fixed up so the copy never reads the original.</summary>
public static class ChainCopy
{
    /// <summary>
    /// Copies every layer into <paramref name="destination"/> with every byte written (no holes in the host files),
    /// which takes the host file's sparseness out of block-status answers. Returns the new paths, bottom first.
    /// </summary>
    public static IReadOnlyList<string> Dense(BuiltChain chain, string destination)
    {
        Directory.CreateDirectory(destination);
        var copies = new List<string>();
        foreach (var image in chain.ImagePaths)
        {
            var copy = Path.Combine(destination, Path.GetFileName(image));
            File.WriteAllBytes(copy, File.ReadAllBytes(image));
            copies.Add(copy);
        }

        if (!chain.Spec.RelativeBackingNames)
        {
            // Absolute backing names would still point at the originals.
            for (var i = 1; i < copies.Count; i++)
            {
                QemuTools.Img("rebase", "-u", "-f", "qcow2", "-b", copies[i - 1], "-F", "qcow2", copies[i]).EnsureSuccess();
            }
        }

        return copies;
    }

    /// <summary>Copies all files of a folder (a chain with relative backing names stays self-contained).</summary>
    public static void Folder(string source, string destination)
    {
        Directory.CreateDirectory(destination);
        foreach (var file in Directory.GetFiles(source))
        {
            File.Copy(file, Path.Combine(destination, Path.GetFileName(file)));
        }
    }
}
