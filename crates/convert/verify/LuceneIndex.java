// Differential runner for Lucene query strings: indexes the events in an in-memory Lucene 8
// index, parses every query with the classic QueryParser (the query_string syntax Kibana and
// Graylog accept) and prints the ids of the matching events.
//
// Usage: java -cp lucene-core-8.jar:lucene-queryparser-8.jar LuceneIndex.java EVENTS < QUERIES
//   EVENTS   one event per line: space-separated "base64(name):base64(value)" pairs
//   QUERIES  one base64-encoded query per line
// Prints one line per query: "ok id id ..." (ids are 0-based event line numbers) or
// "error <message>".
//
// The index models what the converter assumes of an Elasticsearch mapping:
// - every field is a keyword with a lowercase normalizer (ES `keyword` + `normalizer`, ECS
//   `.caseless`): the field itself holds the lower-cased value, and the terms of equality,
//   wildcard and prefix queries are lower-cased the same way, so strings match ignoring case;
// - regular expressions run on the original value (Sigma regexes are case-sensitive unless
//   `i`, which the converter spells out as character classes), in a hidden copy of the field;
// - numbers are also indexed as points, and range queries (`F:>5`) compare numerically, as on
//   a numeric field; addresses are also indexed as points, and a quoted CIDR (`F:"10.0.0.0/8"`)
//   is a prefix query, as on an `ip` field;
// - a group of only negative clauses matches all documents but those (Elasticsearch's
//   query_string adds a match-all clause to it); the classic parser's handling of AND/OR,
//   which does not follow boolean precedence, is kept as it is, since ES keeps it too;
// - `_exists_:F` holds when F has a non-null value (an empty string exists, as in ES);
// - the default field (keyword searches) is `_raw`, which holds every value of the event;
// - a regex whose automaton needs more than 3000 states is an error (MAX_STATES);
// - a value longer than Lucene's term limit (32766 bytes) cannot be a keyword term: it is
//   left out of the keyword copies (ES `ignore_above` does the same) and counted on stderr.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.standard.StandardTokenizer;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.DoublePoint;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.BinaryPoint;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.Term;
import org.apache.lucene.queryparser.classic.ParseException;
import org.apache.lucene.queryparser.classic.QueryParser;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.MatchAllDocsQuery;
import org.apache.lucene.search.PrefixQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.RegexpQuery;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.WildcardQuery;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.util.automaton.RegExp;

public class LuceneIndex {
    static final String EXACT = "\u0001exact";
    static final String NUM = "\u0001num";
    static final String IP = "\u0001ip";
    static final String RAW = "_raw";
    static final int MAX_TERM = 32766;
    /** Determinized states a regex may need. Elasticsearch allows 10000, but on the test
     *  machine a regex between 3000 and 10000 states takes tens of seconds to determinize
     *  (`.*x[^\\]{1,256}`: 36 s), so the runner refuses those, fast, as an error. */
    static final int MAX_STATES = 3000;

    static String lower(String text) {
        return text.toLowerCase(Locale.ROOT);
    }

    static Double number(String text) {
        try {
            double d = Double.parseDouble(text.trim());
            return Double.isNaN(d) ? null : d;
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** An address written as one (no host names: InetAddress would resolve them). */
    static InetAddress address(String text) {
        if (!text.matches("[0-9.]+|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*")) return null;
        try {
            return InetAddress.getByName(text);
        } catch (Exception e) {
            return null;
        }
    }

    /** An analyzer that leaves terms as they are: the parser's overrides below decide every
     *  term (no tokenizing, no normalizing of regexes). */
    static class Verbatim extends Analyzer {
        @Override
        protected TokenStreamComponents createComponents(String field) {
            return new TokenStreamComponents(new StandardTokenizer());
        }
    }

    /** An address as 16 bytes, IPv4 mapped into IPv6 (as Lucene's InetAddressPoint does). */
    static byte[] encode(InetAddress address) {
        byte[] raw = address.getAddress();
        byte[] out = new byte[16];
        if (raw.length == 4) {
            out[10] = (byte) 0xff;
            out[11] = (byte) 0xff;
            System.arraycopy(raw, 0, out, 12, 4);
        } else {
            System.arraycopy(raw, 0, out, 0, 16);
        }
        return out;
    }

    /** The addresses of a network: a range over the 16-byte encoding. */
    static Query prefixQuery(String field, InetAddress network, int bits) {
        byte[] low = encode(network);
        byte[] high = encode(network);
        int total = network.getAddress().length == 4 ? bits + 96 : bits;
        for (int i = 0; i < 128; i++) {
            if (i >= total) {
                low[i / 8] &= (byte) ~(0x80 >>> (i % 8));
                high[i / 8] |= (byte) (0x80 >>> (i % 8));
            }
        }
        return BinaryPoint.newRangeQuery(field, low, high);
    }

    static class Parser extends QueryParser {
        Parser() {
            super(RAW, new Verbatim());
            setAllowLeadingWildcard(true);
        }

        @Override
        protected Query getFieldQuery(String field, String text, boolean quoted) {
            if (field.equals("_exists_")) return new TermQuery(new Term("_exists_", text));
            int slash = text.indexOf('/');
            if (quoted && slash > 0) {
                InetAddress net = address(text.substring(0, slash));
                Double bits = number(text.substring(slash + 1));
                if (net != null && bits != null) {
                    return prefixQuery(field + IP, net, bits.intValue());
                }
            }
            return new TermQuery(new Term(field, lower(text)));
        }

        @Override
        protected Query getRangeQuery(String field, String from, String to, boolean fromInclusive, boolean toInclusive) {
            double low = from == null ? Double.NEGATIVE_INFINITY : Double.parseDouble(from);
            double high = to == null ? Double.POSITIVE_INFINITY : Double.parseDouble(to);
            if (from != null && !fromInclusive) low = Math.nextUp(low);
            if (to != null && !toInclusive) high = Math.nextDown(high);
            return DoublePoint.newRangeQuery(field + NUM, low, high);
        }

        /** As Elasticsearch's query_string does: a group of only negative clauses (`NOT x`,
         *  `(NOT x)`) matches every document but those, not none. */
        @Override
        protected Query getBooleanQuery(List<BooleanClause> clauses) throws ParseException {
            Query q = super.getBooleanQuery(clauses);
            if (!(q instanceof BooleanQuery)) return q;
            BooleanQuery bq = (BooleanQuery) q;
            for (BooleanClause c : bq.clauses()) {
                if (c.getOccur() != BooleanClause.Occur.MUST_NOT) return q;
            }
            BooleanQuery.Builder fixed = new BooleanQuery.Builder();
            for (BooleanClause c : bq.clauses()) fixed.add(c);
            fixed.add(new MatchAllDocsQuery(), BooleanClause.Occur.FILTER);
            return fixed.build();
        }

        @Override
        protected Query newWildcardQuery(Term t) {
            return new WildcardQuery(new Term(t.field(), lower(t.text())));
        }

        @Override
        protected Query newPrefixQuery(Term t) {
            return new PrefixQuery(new Term(t.field(), lower(t.text())));
        }

        @Override
        protected Query newRegexpQuery(Term t) {
            return new RegexpQuery(new Term(t.field() + EXACT, t.text()), RegExp.ALL, MAX_STATES);
        }
    }

    /** "ok id ..." or "error message" for one query. */
    static String run(IndexSearcher searcher, DirectoryReader reader, String text) {
        try {
            Query query = new Parser().parse(text);
            List<Integer> ids = new ArrayList<>();
            for (ScoreDoc hit : searcher.search(query, Math.max(1, reader.maxDoc())).scoreDocs) {
                ids.add(searcher.doc(hit.doc).getField("_id").numericValue().intValue());
            }
            ids.sort(null);
            StringBuilder out = new StringBuilder("ok");
            for (int id : ids) out.append(' ').append(id);
            return out.toString();
        } catch (Exception | Error e) {
            return "error " + String.valueOf(e.getMessage()).replace('\n', ' ');
        }
    }

    public static void main(String[] args) throws Exception {
        BooleanQuery.setMaxClauseCount(1 << 20);
        Base64.Decoder b64 = Base64.getDecoder();
        ByteBuffersDirectory directory = new ByteBuffersDirectory();
        int skipped = 0;
        int count = 0;
        try (IndexWriter writer = new IndexWriter(directory, new IndexWriterConfig(new Verbatim()))) {
            for (String line : Files.readAllLines(Paths.get(args[0]), StandardCharsets.UTF_8)) {
                Document doc = new Document();
                doc.add(new StoredField("_id", count));
                count++;
                if (!line.isEmpty()) {
                    for (String pair : line.split(" ")) {
                        int colon = pair.indexOf(':');
                        String name = new String(b64.decode(pair.substring(0, colon)), StandardCharsets.UTF_8);
                        String value = new String(b64.decode(pair.substring(colon + 1)), StandardCharsets.UTF_8);
                        doc.add(new StringField("_exists_", name, Field.Store.NO));
                        if (value.getBytes(StandardCharsets.UTF_8).length > MAX_TERM) {
                            skipped++;
                        } else {
                            doc.add(new StringField(name, lower(value), Field.Store.NO));
                            doc.add(new StringField(name + EXACT, value, Field.Store.NO));
                            doc.add(new StringField(RAW, lower(value), Field.Store.NO));
                            doc.add(new StringField(RAW + EXACT, value, Field.Store.NO));
                        }
                        Double n = number(value);
                        if (n != null) doc.add(new DoublePoint(name + NUM, n));
                        InetAddress ip = address(value);
                        if (ip != null) doc.add(new BinaryPoint(name + IP, encode(ip)));
                    }
                }
                writer.addDocument(doc);
            }
        }
        System.err.println("lucene: " + count + " events indexed, " + skipped + " values too long for a keyword term");
        DirectoryReader reader = DirectoryReader.open(directory);
        IndexSearcher searcher = new IndexSearcher(reader);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        List<String> queries = new ArrayList<>();
        String line;
        while ((line = in.readLine()) != null) {
            if (!line.isEmpty()) queries.add(new String(b64.decode(line), StandardCharsets.UTF_8));
        }
        // Queries run in parallel (the searcher is thread-safe); answers keep the input order.
        String[] answers = new String[queries.size()];
        IntStream.range(0, queries.size()).parallel().forEach(i -> answers[i] = run(searcher, reader, queries.get(i)));
        StringBuilder out = new StringBuilder();
        for (String answer : answers) out.append(answer).append('\n');
        System.out.print(out);
    }
}
