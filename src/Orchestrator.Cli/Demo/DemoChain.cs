using Orchestrator.Qcow2;
using Orchestrator.Qcow2.Chain;

namespace Orchestrator.Cli.Demo;

/// <summary>
/// Builds [A] -> [B] -> [C] -> [D] with our own qcow2 writer: A gets 1/8 of the disk, B and C 1/16 each, D 1/64, in
/// random extents of 1..16 clusters, some of them zero writes; records every write in the <see cref="GuestModel"/>.
/// </summary>
public static class DemoChain
{
    public static readonly string[] Names = ["A.qcow2", "B.qcow2", "C.qcow2", "D.qcow2"];

    public static void Build(string dir, long size, int seed, GuestModel model)
    {
        var random = new Random(seed);
        var fractions = new[] { 1 / 8.0, 1 / 16.0, 1 / 16.0, 1 / 64.0 };
        const int cluster = GuestModel.ClusterSize;
        var buffer = new byte[16 * cluster];
        for (var layer = 0; layer < Names.Length; layer++)
        {
            var path = Path.Combine(dir, Names[layer]);
            var options = new ImageCreateOptions { Size = size, BackingFile = layer == 0 ? null : Names[layer - 1], BackingFormat = "qcow2" };
            Qcow2Image.Create(path, options).Dispose();
            using var chain = ImageChain.Open(path, new ChainOpenOptions { WritableTop = true });
            var budget = (long)(size * fractions[layer]);
            while (budget > 0)
            {
                var clusters = random.Next(1, 17);
                var offset = random.NextInt64(0, (size / cluster) - clusters) * cluster;
                var length = clusters * cluster;
                if (layer > 0 && random.NextDouble() < 0.05)
                {
                    chain.WriteZeroes(offset, length);
                    model.ChainWrote(offset, length, 0);
                }
                else
                {
                    var value = (byte)random.Next(1, 256);
                    buffer.AsSpan(0, length).Fill(value);
                    chain.Write(offset, buffer.AsSpan(0, length));
                    model.ChainWrote(offset, length, value);
                }

                budget -= length;
            }

            chain.Flush();
        }
    }
}
