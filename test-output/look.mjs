import { chromium } from 'playwright-core';
const [url, out, width = '1280', scheme = 'light', selector = 'body'] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
const page = await browser.newPage({ viewport: { width: Number(width), height: 900 }, colorScheme: scheme });
await page.goto(url);
await page.waitForSelector('#chart canvas');
await page.locator(selector).first().screenshot({ path: out });
await browser.close();
