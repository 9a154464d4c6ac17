using Google.Protobuf;
using VLink.Core.Vectors;
using VLink.Embeddings;

namespace VLink.Embeddings.Tests;

/// <summary>
/// The ONNX provider on a real, tiny model the test writes: an ONNX ModelProto (protobuf, written field by field with
/// ONNX's field numbers) whose graph is one Gather over an embedding table — token id → row — producing
/// <c>last_hidden_state</c> [1, tokens, 3], run by OnnxRuntime; and a WordPiece vocabulary file. So tokenizer,
/// session, mean pooling and normalisation all run for real.
/// </summary>
public sealed class OnnxProviderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vlink-onnx-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string[] Vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "login", "pass", "##word", "bread", "[MASK]"];

    // Row i of the table is token i's vector.
    private static readonly float[][] Table =
    [
        [0, 0, 0], [0, 0, 1], [1, 0, 0], [1, 0, 0], [0, 4, 0], [0, 2, 2], [0, 2, 0], [0, 0, 6], [0, 0, 0],
    ];

    private static byte[] Message(Action<CodedOutputStream> write)
    {
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        write(output);
        output.Flush();
        return buffer.ToArray();
    }

    private static void Field(CodedOutputStream o, int number, byte[] message)
    {
        o.WriteTag(number, WireFormat.WireType.LengthDelimited);
        o.WriteBytes(ByteString.CopyFrom(message));
    }

    private static void Text(CodedOutputStream o, int number, string value)
    {
        o.WriteTag(number, WireFormat.WireType.LengthDelimited);
        o.WriteString(value);
    }

    // ValueInfoProto { name = 1, type = 2 { tensor_type = 1 { elem_type = 1, shape = 2 { dim = 1 { dim_value = 1 | dim_param = 2 } } } } }
    private static byte[] ValueInfo(string name, int elemType, params object[] dims) => Message(o =>
    {
        Text(o, 1, name);
        Field(o, 2, Message(t => Field(t, 1, Message(tt =>
        {
            tt.WriteTag(1, WireFormat.WireType.Varint);
            tt.WriteInt32(elemType);
            Field(tt, 2, Message(shape =>
            {
                foreach (var d in dims)
                    Field(shape, 1, Message(dim =>
                    {
                        if (d is long value)
                        {
                            dim.WriteTag(1, WireFormat.WireType.Varint);
                            dim.WriteInt64(value);
                        }
                        else Text(dim, 2, (string)d);
                    }));
            }));
        }))));
    });

    private static byte[] Model() => Message(model =>
    {
        model.WriteTag(1, WireFormat.WireType.Varint); // ir_version
        model.WriteInt64(7);
        Field(model, 8, Message(opset => // opset_import { domain = 1 (""), version = 2 }
        {
            opset.WriteTag(2, WireFormat.WireType.Varint);
            opset.WriteInt64(13);
        }));
        Field(model, 7, Message(graph =>
        {
            Field(graph, 1, Message(node => // NodeProto { input = 1, output = 2, name = 3, op_type = 4 }
            {
                Text(node, 1, "table");
                Text(node, 1, "input_ids");
                Text(node, 2, "last_hidden_state");
                Text(node, 3, "lookup");
                Text(node, 4, "Gather");
            }));
            Text(graph, 2, "tiny-encoder");
            Field(graph, 5, Message(tensor => // TensorProto { dims = 1, data_type = 2, float_data = 4 (packed), name = 8 }
            {
                tensor.WriteTag(1, WireFormat.WireType.Varint);
                tensor.WriteInt64(Table.Length);
                tensor.WriteTag(1, WireFormat.WireType.Varint);
                tensor.WriteInt64(3);
                tensor.WriteTag(2, WireFormat.WireType.Varint);
                tensor.WriteInt32(1); // FLOAT
                var values = Table.SelectMany(r => r).ToArray();
                tensor.WriteTag(4, WireFormat.WireType.LengthDelimited);
                tensor.WriteLength(values.Length * 4);
                foreach (var v in values) tensor.WriteFloat(v);
                Text(tensor, 8, "table");
            }));
            Field(graph, 11, ValueInfo("input_ids", 7, 1L, "tokens")); // INT64 [1, tokens]
            Field(graph, 12, ValueInfo("last_hidden_state", 1, 1L, "tokens", 3L)); // FLOAT [1, tokens, 3]
        }));
    });

    private string WriteModel()
    {
        string folder = Path.Combine(_dir, "tiny");
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "model.onnx"), Model());
        File.WriteAllLines(Path.Combine(folder, "vocab.txt"), Vocab);
        return folder;
    }

    [Fact]
    public void Tokens_go_through_the_model_and_are_mean_pooled_and_normalised()
    {
        using var provider = OnnxEmbeddingProvider.Load(WriteModel());
        Assert.Equal("onnx", provider.Name);
        Assert.Equal(3, provider.Dimension);
        Assert.StartsWith("onnx:tiny@", provider.ModelId);
        // "Login password": [CLS] login pass ##word [SEP] → ids 2 4 5 6 3 (WordPiece splits "password").
        Assert.Equal([2, 4, 5, 6, 3], provider.Tokens("Login password"));
        // Mean of rows 2, 4, 5, 6, 3: (2, 8, 2) / 5, then normalised.
        float[] expected = [2, 8, 2];
        VectorKernels.Normalize(expected);
        var v = provider.Embed("Login password");
        for (int d = 0; d < 3; d++) Assert.Equal(expected[d], v[d], 1e-5f);
        // An unknown word is [UNK] (row 1).
        Assert.Equal([2, 1, 3], provider.Tokens("kerberos"));
    }

    [Fact]
    public async Task The_node_makes_an_onnx_provider_from_a_folder_in_its_data_directory()
    {
        WriteModel();
        using var providers = new EmbeddingProviders(_dir);
        var provider = await providers.GetAsync(new EmbeddingConfig("onnx", "tiny"));
        var batch = await provider.EmbedBatchAsync(["bread", "login"]);
        // [CLS] bread [SEP]: rows (1, 0, 0), (0, 0, 6), (1, 0, 0), mean ∝ (2, 0, 6).
        Assert.Equal(new[] { 2 / MathF.Sqrt(40), 0, 6 / MathF.Sqrt(40) }.Select(x => MathF.Round(x, 4)), batch[0].Select(x => MathF.Round(x, 4)));
        await Assert.ThrowsAsync<FileNotFoundException>(() => providers.GetAsync(new EmbeddingConfig("onnx", "missing")));
        File.WriteAllBytes(Path.Combine(_dir, "tiny", "model.onnx"), [1, 2, 3]);
        using var fresh = new EmbeddingProviders(_dir);
        await Assert.ThrowsAsync<InvalidDataException>(() => fresh.GetAsync(new EmbeddingConfig("onnx", "tiny")));
    }
}
