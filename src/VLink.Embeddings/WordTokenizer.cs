using VLink.Core.Hybrid;

namespace VLink.Embeddings;

/// <summary>
/// Splits text into lower-case words the way GloVe's vocabulary was built: runs of letters and digits, with inner
/// apostrophes and hyphens kept (<c>don't</c>, <c>e-mail</c>); everything else separates words.
/// </summary>
public static class WordTokenizer
{
    /// <summary>The words of a text, lower-cased, in order (<see cref="TextAnalyzer.Words"/> keeping inner joiners).</summary>
    public static List<string> Words(string text) => TextAnalyzer.Words(text, keepInnerJoiners: true);

    /// <summary>
    /// The parts of a word the vocabulary may hold when the word itself is unknown: hyphenated parts, then runs of
    /// letters and of digits (<c>oauth2</c> → <c>oauth</c>, <c>2</c>).
    /// </summary>
    public static IEnumerable<string> Parts(string word)
    {
        foreach (var piece in word.Split('-', '\'', StringSplitOptions.RemoveEmptyEntries))
        {
            int i = 0;
            while (i < piece.Length)
            {
                int start = i;
                bool letter = char.IsLetter(piece[i]);
                while (i < piece.Length && char.IsLetter(piece[i]) == letter) i++;
                yield return piece[start..i];
            }
        }
    }
}
