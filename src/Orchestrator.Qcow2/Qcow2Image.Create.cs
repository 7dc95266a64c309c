using System.Buffers.Binary;
using Orchestrator.Qcow2.Format;

namespace Orchestrator.Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>
    /// Creates a new image with 16-bit refcounts: header, refcount table, refcount blocks covering every
    /// metadata cluster, and an L1 table for the whole virtual size; then opens it for writing.
    /// Refuses to overwrite an existing file.
    /// </summary>
    public static Qcow2Image Create(string path, ImageCreateOptions options)
    {
        var clusterBits = System.Numerics.BitOperations.Log2((uint)options.ClusterSize);
        var cs = options.ClusterSize;
        var version = options.Compat == "0.10" ? 2u : 3u;
        const int refcountOrder = 4;
        var l2Entries = cs / 8;
        var l1Size = (uint)((options.Size + ((long)cs * l2Entries) - 1) / ((long)cs * l2Entries));
        if ((long)l1Size * 8 > Qcow2Constants.MaxL1TableBytes)
        {
            throw new Qcow2Exception(Qcow2ErrorKind.InvalidArgument, $"image size {options.Size} is too large for cluster size {cs}", path);
        }

        var layout = Layout.Compute(cs, refcountOrder, l1Size);
        var header = new Qcow2Header
        {
            Version = version,
            ClusterBits = clusterBits,
            Size = options.Size,
            L1Size = l1Size,
            L1TableOffset = l1Size == 0 ? 0 : (long)layout.L1Cluster * cs,
            RefcountTableOffset = (long)layout.TableCluster * cs,
            RefcountTableClusters = (uint)layout.TableClusters,
            RefcountOrder = refcountOrder,
            HeaderLength = version == 3 ? (uint)Qcow2Constants.V3WrittenHeaderLength : Qcow2Constants.V2HeaderLength,
            BackingFileName = options.BackingFile,
            BackingFormat = options.BackingFile is null ? null : options.BackingFormat ?? "qcow2",
        };

        var image = new byte[(long)layout.TotalClusters * cs];
        header.Serialize().CopyTo(image, 0);
        var entriesPerBlock = (cs * 8) >> refcountOrder;
        for (var b = 0; b < layout.BlockClusters; b++)
        {
            var blockCluster = layout.BlockCluster + b;
            BinaryPrimitives.WriteUInt64BigEndian(image.AsSpan((layout.TableCluster * cs) + (b * 8)), (ulong)blockCluster * (ulong)cs);
        }

        for (var cluster = 0; cluster < layout.TotalClusters; cluster++)
        {
            var block = layout.BlockCluster + (cluster / entriesPerBlock);
            BinaryPrimitives.WriteUInt16BigEndian(image.AsSpan((block * cs) + ((cluster % entriesPerBlock) * 2)), 1);
        }

        using (var file = IO.ImageFile.CreateNew(path, options.Cache, options.Confinement))
        {
            file.Write(image, 0);
            file.Flush();
        }

        return Open(path, ImageOpenOptions.ReadWrite(options.Cache) with
        {
            CheckOnWritableOpen = false, Confinement = options.Confinement, Locking = options.Locking,
        });
    }

    /// <summary>Cluster positions of a new image: header, refcount table, refcount blocks, L1 table.</summary>
    private readonly record struct Layout(int TableCluster, int TableClusters, int BlockCluster, int BlockClusters, int L1Cluster, int TotalClusters)
    {
        public static Layout Compute(int clusterSize, int refcountOrder, uint l1Size)
        {
            var entriesPerBlock = (clusterSize * 8) >> refcountOrder;
            var l1Clusters = (int)(((long)l1Size * 8 + clusterSize - 1) / clusterSize);
            int tableClusters = 1, blockClusters = 1;
            while (true)
            {
                var total = 1 + tableClusters + blockClusters + l1Clusters;
                var neededBlocks = (total + entriesPerBlock - 1) / entriesPerBlock;
                var neededTable = ((neededBlocks * 8) + clusterSize - 1) / clusterSize;
                if (neededBlocks == blockClusters && neededTable == tableClusters)
                {
                    return new Layout(1, tableClusters, 1 + tableClusters, blockClusters, 1 + tableClusters + blockClusters, total);
                }

                blockClusters = Math.Max(blockClusters, neededBlocks);
                tableClusters = Math.Max(tableClusters, neededTable);
            }
        }
    }
}
