/** The wall clock in unix seconds, the unit of `created_at`: the default `now` wherever time is not passed in. */
export const unixNow = (): number => Math.floor(Date.now() / 1000);
