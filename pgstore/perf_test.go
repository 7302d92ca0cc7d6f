package pgstore_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/pgstore"
)

// counter counts the round trips a pool makes: each query, and each batch
// (sent at once). pgx's BEGIN and COMMIT are queries.
type counter struct{ n atomic.Int64 }

func (c *counter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *counter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *counter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *counter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *counter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// The round trips the package doc gives: four a callback with New, five
// with NewSQL, on top of the function's own statements (here none). The
// batch of the lock and the read counts once; pgx's statement cache, warm
// after the first callback, adds no prepare.
func TestRoundTrips(t *testing.T) {
	url := pgURL(t)
	for _, tt := range []struct {
		name  string
		store func(*pgxpool.Pool) *pgstore.Store
		want  int64
	}{
		{"New", func(p *pgxpool.Pool) *pgstore.Store { return pgstore.New(p, pgstore.WithTable("", testTable())) }, 4},
		{"NewSQL", func(p *pgxpool.Pool) *pgstore.Store {
			return pgstore.NewSQL(stdlib.OpenDBFromPool(p), pgstore.WithTable("", testTable()))
		}, 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := pgxpool.ParseConfig(url)
			if err != nil {
				t.Fatal(err)
			}
			var c counter
			cfg.ConnConfig.Tracer = &c
			cfg.MaxConns = 1 // one connection, so that its statement cache is warm
			pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			s := tt.store(pool)
			if err := s.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			url := serve(t, s, func(context.Context, kyccb.Customer) error { return nil })
			once(t, url, body("warm", kyccb.StatusAccepted))
			const n = 20
			before := c.n.Load()
			for i := range n {
				if code := once(t, url, body("rt-"+strconv.Itoa(i), kyccb.StatusAccepted)); code != http.StatusOK {
					t.Fatalf("got %d", code)
				}
			}
			if got := (c.n.Load() - before) / n; got != tt.want {
				t.Errorf("%s: %d round trips a callback, want %d", tt.name, got, tt.want)
			}
		})
	}
}

// BenchmarkTwoReplicas measures callbacks a second through two replicas
// (each its own pool of 16 connections and its own loopback server) on one
// PostgreSQL, with 32 concurrent senders, each callback about a customer
// of its own and its function inserting one row: with pgstore's two
// constructors, and with no store and the row inserted on its own, the
// cost of the insert alone.
func BenchmarkTwoReplicas(b *testing.B) {
	url := pgURL(b)
	admin := newPool(b, url, 4)
	a := newApp(b, admin)
	insert := `INSERT INTO ` + a.table + ` (customer, status) VALUES ($1, $2)`
	for _, v := range []struct {
		name string
		opts func(pool *pgxpool.Pool, table string) ([]kyccb.Option, func(context.Context, kyccb.Customer) error)
	}{
		{"pgstore.New", func(pool *pgxpool.Pool, table string) ([]kyccb.Option, func(context.Context, kyccb.Customer) error) {
			s := migrated(b, pool, table)
			return []kyccb.Option{kyccb.WithDedup(s)}, func(ctx context.Context, c kyccb.Customer) error {
				_, err := pgstore.Tx(ctx).Exec(ctx, insert, c.ID, string(c.Status))
				return err
			}
		}},
		{"pgstore.NewSQL", func(pool *pgxpool.Pool, table string) ([]kyccb.Option, func(context.Context, kyccb.Customer) error) {
			db := stdlib.OpenDBFromPool(pool)
			b.Cleanup(func() { db.Close() })
			s := pgstore.NewSQL(db, pgstore.WithTable("", table))
			if err := s.Migrate(b.Context()); err != nil {
				b.Fatal(err)
			}
			return []kyccb.Option{kyccb.WithDedup(s)}, func(ctx context.Context, c kyccb.Customer) error {
				_, err := pgstore.SQLTx(ctx).ExecContext(ctx, insert, c.ID, string(c.Status))
				return err
			}
		}},
		{"no store, insert alone", func(pool *pgxpool.Pool, table string) ([]kyccb.Option, func(context.Context, kyccb.Customer) error) {
			return nil, func(ctx context.Context, c kyccb.Customer) error {
				_, err := pool.Exec(ctx, insert, c.ID, string(c.Status))
				return err
			}
		}},
	} {
		b.Run(v.name, func(b *testing.B) {
			table := testTable()
			var urls []string
			for range 2 {
				pool := newPool(b, url, 16)
				opts, fn := v.opts(pool, table)
				var h http.Handler
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
				b.Cleanup(srv.Close)
				h = kyccb.SEP12(testAddress, srv.URL, fn, opts...)
				urls = append(urls, srv.URL)
			}
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			var seq atomic.Int64
			b.SetParallelism(16) // 32 senders on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := seq.Add(1)
					url := urls[i%2]
					bd := body(v.name+"-"+strconv.FormatInt(i, 10)+"-"+table, kyccb.StatusAccepted)
					sig, err := kyccb.SignSEP12(testSeed, url, bd, time.Now())
					if err != nil {
						b.Error(err)
						return
					}
					req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(bd))
					req.Header.Set(kyccb.SignatureHeader, sig)
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "callbacks/s")
		})
	}
}
