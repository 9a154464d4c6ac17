using System.Diagnostics;
using VLink.Core.Vectors;
using VLink.Embeddings;
using Xunit.Abstractions;

namespace VLink.Embeddings.Tests;

public sealed class GloveProviderTests(ITestOutputHelper output)
{
    private static readonly Lazy<SifEmbeddingProvider> Provider = new(() => SifEmbeddingProvider.Load(GloveModel.Path!));

    [GloveFact]
    public void The_real_vectors_place_authentication_near_login_and_oauth_not_near_cooking()
    {
        var p = Provider.Value;
        Assert.Equal(100, p.Dimension);
        var query = p.Embed("authentication");
        float Similarity(string text) => VectorKernels.Dot(query, p.Embed(text));
        float login = Similarity("Users sign in with a login form and a password");
        float oauth = Similarity("OAuth2 grants tokens to third-party clients through an authorization server");
        float cooking = Similarity("Bake the bread for forty minutes until the crust is golden");
        output.WriteLine($"login {login:F3}, oauth {oauth:F3}, cooking {cooking:F3}");
        Assert.True(login > cooking + 0.1f);
        Assert.True(oauth > cooking + 0.1f);
        Assert.Equal(1f, VectorKernels.Norm(query), 1e-4f);
    }

    [GloveFact]
    public void The_common_component_is_removed_from_every_text_vector()
    {
        var p = Provider.Value;
        Assert.Equal(SifEmbeddingProvider.DefaultCommonComponents, p.CommonComponents.Count);
        Assert.StartsWith("glove-6b-100d-sif2@", p.ModelId);
        for (int i = 0; i < p.CommonComponents.Count; i++)
        {
            Assert.Equal(1f, VectorKernels.Norm(p.CommonComponents[i]), 1e-4f);
            for (int j = 0; j < i; j++) Assert.Equal(0f, VectorKernels.Dot(p.CommonComponents[i], p.CommonComponents[j]), 1e-4f);
        }
        foreach (var text in new[] { "the", "authentication", "The login page asks for a username and password", "Bake the bread for forty minutes" })
        {
            var v = p.Embed(text);
            Assert.Equal(1f, VectorKernels.Norm(v), 1e-4f);
            foreach (var component in p.CommonComponents) Assert.Equal(0f, VectorKernels.Dot(v, component), 1e-4f);
        }
        // Without the removal the frequent words' shared direction is there: "the" leans on the first component.
        var plain = new SifEmbeddingProvider(WordVectors.Load(GloveModel.Path!), commonComponents: 0);
        Assert.Empty(plain.CommonComponents);
        Assert.NotEqual(p.ModelId, plain.ModelId); // other vectors, another model id: a collection never mixes them
        Assert.True(Math.Abs(VectorKernels.Dot(plain.Embed("the"), p.CommonComponents[0])) > 0.1f);
    }

    [GloveFact]
    public async Task Throughput_of_the_offline_provider()
    {
        var p = Provider.Value;
        var texts = Enumerable.Range(0, 20_000)
            .Select(i => $"Document {i}: the service retries a failed request with exponential backoff and logs the latency of each attempt")
            .ToList();
        await p.EmbedBatchAsync(texts.Take(1000).ToList());
        var clock = Stopwatch.StartNew();
        var one = new List<float[]>();
        foreach (var t in texts.Take(5000)) one.Add(p.Embed(t));
        double single = 5000 / clock.Elapsed.TotalSeconds;
        clock.Restart();
        var vectors = await p.EmbedBatchAsync(texts);
        double batch = texts.Count / clock.Elapsed.TotalSeconds;
        output.WriteLine($"offline provider: {single:N0} docs/s on one thread, {batch:N0} docs/s batched on {Environment.ProcessorCount} cores (18-word documents)");
        Assert.Equal(texts.Count, vectors.Length);
        Assert.Equal(one[0], vectors[0]);
    }
}
