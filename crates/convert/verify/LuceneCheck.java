// Parses Lucene query strings with Lucene 8's classic QueryParser (the syntax Kibana's
// query_string and Graylog accept). Reads base64-encoded queries, one per line, on stdin and
// prints "ok" or "error <message>" per line.
// Usage: java -cp lucene-core-8.jar:lucene-queryparser-8.jar LuceneCheck.java < queries.b64
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.standard.StandardAnalyzer;
import org.apache.lucene.index.Term;
import org.apache.lucene.queryparser.classic.QueryParser;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.util.automaton.RegExp;

public class LuceneCheck {
    /** Checks syntax without building automata: a regex is parsed by Lucene's RegExp (which
     *  rejects what Lucene cannot read), and wildcard terms are not compiled. */
    static class SyntaxParser extends QueryParser {
        SyntaxParser(String field, Analyzer analyzer) {
            super(field, analyzer);
        }

        @Override
        protected Query newRegexpQuery(Term regexp) {
            new RegExp(regexp.text());
            return new TermQuery(regexp);
        }

        @Override
        protected Query newWildcardQuery(Term t) {
            return new TermQuery(t);
        }
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        // The clause limit is a cluster setting (indices.query.bool.max_clause_count; Elasticsearch
        // 8 derives it from the heap): the syntax is checked here, not one cluster's limit.
        org.apache.lucene.search.BooleanQuery.setMaxClauseCount(1 << 20);
        StringBuilder out = new StringBuilder();
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isEmpty()) continue;
            String query = new String(Base64.getDecoder().decode(line), StandardCharsets.UTF_8);
            QueryParser parser = new SyntaxParser("message", new StandardAnalyzer());
            parser.setAllowLeadingWildcard(true);
            try {
                parser.parse(query);
                out.append("ok\n");
            } catch (Exception | Error e) {
                out.append("error ").append(String.valueOf(e.getMessage()).replace('\n', ' ')).append('\n');
            }
        }
        System.out.print(out);
    }
}
