using Lucene.Net.Analysis;
using Lucene.Net.Analysis.En;
using Lucene.Net.Analysis.TokenAttributes;
using Lucene.Net.Util;

namespace VLink.Core.Hybrid;

/// <summary>
/// Turns text into terms for keyword search: Lucene's English analyzer (Unicode word breaks, possessives dropped,
/// lower case, its English stop words, Porter stemming: "Logins" and "login" are one term), and into plain words
/// for exact matching (lower case, no stemming, no stop words dropped). Safe to use from several threads.
/// </summary>
public static class TextAnalyzer
{
    private static readonly ThreadLocal<Analyzer> English = new(() => new EnglishAnalyzer(LuceneVersion.LUCENE_48));

    /// <summary>The stemmed terms of a text, in order (stop words left out).</summary>
    public static List<string> Terms(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var terms = new List<string>();
        using var stream = English.Value!.GetTokenStream("text", text);
        var term = stream.AddAttribute<ICharTermAttribute>();
        stream.Reset();
        while (stream.IncrementToken()) terms.Add(term.ToString());
        stream.End();
        return terms;
    }

    /// <summary>
    /// The words of a text, lower-cased, in order: runs of letters and digits; with <paramref name="keepInnerJoiners"/>,
    /// an apostrophe or hyphen between a word's letters or digits stays in it (<c>don't</c>, <c>e-mail</c>), as in GloVe's
    /// vocabulary. Exact match uses the plain runs; the offline embedding model the joined words.
    /// </summary>
    public static List<string> Words(string text, bool keepInnerJoiners = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var words = new List<string>();
        int i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && !char.IsLetterOrDigit(text[i])) i++;
            int start = i;
            while (i < text.Length && (char.IsLetterOrDigit(text[i])
                || (keepInnerJoiners && text[i] is '\'' or '-' && i > start && i + 1 < text.Length && char.IsLetterOrDigit(text[i + 1]))))
                i++;
            if (i > start) words.Add(text[start..i].ToLowerInvariant());
        }
        return words;
    }
}
