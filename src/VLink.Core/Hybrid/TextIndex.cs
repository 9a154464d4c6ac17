using VLink.Core.Indexing;

namespace VLink.Core.Hybrid;

/// <summary>
/// The text of one partition's points, indexed for keyword search: an inverted index of stemmed terms scored with
/// BM25 (Robertson and Zaragoza; Lucene's idf = ln(1 + (N − df + 0.5) / (df + 0.5)), k1 = 1.2, b = 0.75), and one of
/// plain words for exact matching. Derived from the payloads, so it is rebuilt on recovery and never persisted.
/// One writer; readers must not run while it changes (the partition actor serialises both).
/// </summary>
public sealed class TextIndex
{
    /// <summary>BM25's term-frequency saturation.</summary>
    public const double K1 = 1.2;

    /// <summary>BM25's length normalisation.</summary>
    public const double B = 0.75;

    private readonly Dictionary<string, Dictionary<PointId, int>> _terms = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<PointId, int>> _words = new(StringComparer.Ordinal);
    private readonly Dictionary<PointId, (string[] Terms, string[] Words)> _documents = [];
    private long _totalLength;
    private long _bytes;

    // Estimated sizes on 64-bit .NET: a Dictionary entry (hash, next, key, value) plus its bucket; an object header
    // and method table pointer; a string's header, length and UTF-16 characters; an array's header and length.
    private const int PostingBytes = 4 + 4 + 16 + 4 + 4;
    private const int DocumentBytes = 4 + 4 + 16 + 16 + 4;
    private const int PostingListBytes = 4 + 4 + 8 + 8 + 4 + 80;

    private static long StringBytes(string s) => 24 + 2L * s.Length;

    private static long ArrayBytes(string[] tokens)
    {
        long bytes = 24 + 8L * tokens.Length;
        foreach (var t in tokens) bytes += StringBytes(t);
        return bytes;
    }

    /// <summary>Points with text.</summary>
    public int Count => _documents.Count;

    /// <summary>
    /// Memory the index holds, estimated as it changes: each point's term and word arrays and their strings, each
    /// posting (a dictionary entry), each distinct term's posting list and key. Within tens of percent of the heap's
    /// real figure; the partition adds it to its <c>memory_bytes</c>.
    /// </summary>
    public long MemoryBytes => Volatile.Read(ref _bytes);

    /// <summary>The mean length in terms of the indexed texts (BM25's avgdl).</summary>
    public double AverageLength => _documents.Count == 0 ? 0 : (double)_totalLength / _documents.Count;

    /// <summary>Indexes a point's text (replacing what it had); null or empty removes it.</summary>
    public void Upsert(PointId id, string? text)
    {
        Remove(id);
        if (string.IsNullOrWhiteSpace(text)) return;
        var terms = TextAnalyzer.Terms(text).ToArray();
        var words = TextAnalyzer.Words(text).ToArray();
        if (terms.Length == 0 && words.Length == 0) return;
        _documents[id] = (terms, words);
        _totalLength += terms.Length;
        _bytes += DocumentBytes + ArrayBytes(terms) + ArrayBytes(words);
        _bytes += Add(_terms, terms, id) + Add(_words, words, id);
    }

    /// <summary>Removes a point's text.</summary>
    public void Remove(PointId id)
    {
        if (!_documents.Remove(id, out var doc)) return;
        _totalLength -= doc.Terms.Length;
        _bytes -= DocumentBytes + ArrayBytes(doc.Terms) + ArrayBytes(doc.Words);
        _bytes -= Drop(_terms, doc.Terms, id) + Drop(_words, doc.Words, id);
    }

    /// <summary>
    /// The best <paramref name="limit"/> points by BM25 for the query's terms (each distinct term once), best first,
    /// ties by id; points <paramref name="filter"/> refuses are left out.
    /// </summary>
    public List<ScoredPoint> Bm25(string query, int limit, Func<PointId, bool>? filter = null)
    {
        var scores = new Dictionary<PointId, double>();
        double n = _documents.Count, avgdl = AverageLength;
        foreach (var term in TextAnalyzer.Terms(query).Distinct(StringComparer.Ordinal))
        {
            if (!_terms.TryGetValue(term, out var postings)) continue;
            double df = postings.Count;
            double idf = Math.Log(1 + (n - df + 0.5) / (df + 0.5));
            foreach (var (id, tf) in postings)
            {
                if (filter is not null && !filter(id)) continue;
                double dl = _documents[id].Terms.Length;
                double s = idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * dl / avgdl));
                scores[id] = scores.GetValueOrDefault(id) + s;
            }
        }
        return Top(scores, limit);
    }

    /// <summary>
    /// Points whose text holds every word of the query (lower case, unstemmed), best first: scored by how often the
    /// query's words occur, ties by id; points <paramref name="filter"/> refuses are left out.
    /// </summary>
    public List<ScoredPoint> Exact(string query, int limit, Func<PointId, bool>? filter = null)
    {
        var words = TextAnalyzer.Words(query).Distinct(StringComparer.Ordinal).ToList();
        if (words.Count == 0) return [];
        var lists = new List<Dictionary<PointId, int>>();
        foreach (var w in words)
        {
            if (!_words.TryGetValue(w, out var postings)) return [];
            lists.Add(postings);
        }
        lists.Sort((a, b) => a.Count.CompareTo(b.Count));
        var scores = new Dictionary<PointId, double>();
        foreach (var (id, tf) in lists[0])
        {
            if (filter is not null && !filter(id)) continue;
            double total = tf;
            bool all = true;
            for (int i = 1; i < lists.Count && all; i++)
            {
                if (lists[i].TryGetValue(id, out int more)) total += more;
                else all = false;
            }
            if (all) scores[id] = total;
        }
        return Top(scores, limit);
    }

    private static List<ScoredPoint> Top(Dictionary<PointId, double> scores, int limit) =>
        [.. scores.OrderByDescending(s => s.Value).ThenBy(s => s.Key).Take(limit).Select(s => new ScoredPoint(s.Key, s.Value))];

    /// <summary>Adds a point's tokens to an inverted index; returns the bytes that added.</summary>
    private static long Add(Dictionary<string, Dictionary<PointId, int>> index, string[] tokens, PointId id)
    {
        long bytes = 0;
        foreach (var t in tokens)
        {
            if (!index.TryGetValue(t, out var postings))
            {
                index[t] = postings = [];
                bytes += PostingListBytes + StringBytes(t);
            }
            if (postings.TryGetValue(id, out int tf)) postings[id] = tf + 1;
            else
            {
                postings[id] = 1;
                bytes += PostingBytes;
            }
        }
        return bytes;
    }

    /// <summary>Removes a point's tokens from an inverted index; returns the bytes that freed.</summary>
    private static long Drop(Dictionary<string, Dictionary<PointId, int>> index, string[] tokens, PointId id)
    {
        long bytes = 0;
        foreach (var t in tokens)
        {
            if (!index.TryGetValue(t, out var postings)) continue;
            if (postings.Remove(id)) bytes += PostingBytes;
            if (postings.Count == 0)
            {
                index.Remove(t);
                bytes += PostingListBytes + StringBytes(t);
            }
        }
        return bytes;
    }
}
